"""Mail to users about their second factor and account (CONTRACT section 11): the outbox."""
