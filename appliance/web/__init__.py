"""What NeoCuma Web (the server) and the guardian's console share: session cookies, security
headers, CSRF tokens, the login throttle and the login routes' skeleton."""
