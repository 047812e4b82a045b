Predict.runTool()
