"""Stand-ins for external services, served over real loopback HTTP so the real SDKs are exercised."""
