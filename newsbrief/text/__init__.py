"""Text primitives every stage shares: Chinese scripts, encodings, HTML to text, language."""
