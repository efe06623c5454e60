"""What to run: experiments resolved into frozen run plans, and which experiments a change touches."""
