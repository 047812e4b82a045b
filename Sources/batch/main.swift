Batch.runTool()
