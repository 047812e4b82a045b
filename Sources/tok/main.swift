Tok.runTool()
