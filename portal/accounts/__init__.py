"""Sign-up with email confirmation, log in / out and password reset for the web UI."""
