Fit.runTool()
