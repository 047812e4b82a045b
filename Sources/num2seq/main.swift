Num2Seq.runTool()
