Sample.runTool()
