"""WhatsApp: the linked sender of a video app and the Cloud API client that sends its templates."""
