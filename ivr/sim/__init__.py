"""A local Twilio stand-in (issue 3): drives the real app over HTTP and WebSocket as Twilio does.

Pieces: ``twiml`` (strict parser), ``clock`` (virtual time, call log), ``call`` + ``verbs`` +
``queue_verbs`` (the interpreter), ``media_client`` (Media Streams), ``rest_server`` (the REST
endpoints twilio-python calls), ``simulator`` (the simulated account tying them together),
``scenario`` / ``load`` / ``interactive`` (the three modes), ``commands`` (``ivr simulate``).

Demo against a running app (its Twilio REST base must point at the stand-in, by default
http://127.0.0.1:5099, which is what a dev setup without TWILIO_AUTH_TOKEN uses)::

    ivr simulate call --url http://127.0.0.1:5000            # you are the caller
    ivr simulate run ivr/sim/scenarios/*.yaml --url ...      # scripted, with expectations
    ivr simulate load ivr/sim/scenarios/hangup_in_queue.yaml -n 50 -c 8
"""
