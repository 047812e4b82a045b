Perplexity.runTool()
