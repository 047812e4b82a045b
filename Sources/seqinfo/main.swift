SeqInfo.runTool()
