"""The feedback loop: which text served which ticket, whether it helped, flags, and script deviations."""
