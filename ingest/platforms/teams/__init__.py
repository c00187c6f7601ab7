"""Microsoft Teams: Graph chatMessage resources and change notifications."""
