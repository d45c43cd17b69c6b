"""Detection engine: rules over normalized flows, streaming windows and offline runs, findings."""
