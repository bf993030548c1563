"""The media process: Twilio Media Streams sockets, voice gate and Vosk decoding, apart from the
webhook workers (see ``server``); ``process`` wires it to Redis, config and Twilio REST."""

PARENT_ENV = "IVR_MEDIA_PARENT"  # set by `ivr serve` for its media process: the pid it lives for
