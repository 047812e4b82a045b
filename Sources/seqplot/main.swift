SeqPlot.runTool()
