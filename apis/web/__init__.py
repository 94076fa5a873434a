"""The developer portal: the catalogue, applications, subscriptions, keys, OAuth2 clients, usage."""
