Wav2Seq.runTool()
