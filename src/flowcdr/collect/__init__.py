"""Collection: read growing flow-log blobs block by block and ship them to the gateway once."""
