CharIdx.runTool()
