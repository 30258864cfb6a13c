"""kannel.conf → a typed, validated configuration (the syntax layer comes first: `parser`)."""
