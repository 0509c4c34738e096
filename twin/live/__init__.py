"""The live twin (``twin serve``): a scenario run in paced real time that outside OSS and
BSS tools connect to — TM Forum Open APIs v4 and their event hubs, the element managers'
traps and syslog forwarded to real receivers, Prometheus metrics — and ``twin score``,
which holds an outside tool's actions against the ground truth.

An adapter like the store and the emulation: it reads the OSS through its objects and feeds
it through messages on the bus (:class:`~twin.messages.OperatorAlarmAction`,
:class:`~twin.messages.OperatorTroubleTicket`); nothing in ``network``, ``oss`` or ``bss``
knows it exists. See docs/live.md.
"""
