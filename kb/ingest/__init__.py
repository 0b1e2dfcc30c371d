"""What comes in: stored files, text extracted from them, and the one HTML sanitising policy."""
