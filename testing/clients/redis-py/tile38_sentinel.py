"""The redis-py client as docs/clients.md shows it: Sentinel + master_for with bounded timeouts.
redis-py 5.2.1 needs no Tile38-specific code: the servers close a connection that lands on a node
that does not lead (see docs/clients.md)."""
from redis.sentinel import Sentinel


def tile38_master(sentinels, master_name, tile38_password, sentinel_password):
    sentinel = Sentinel(
        sentinels,
        sentinel_kwargs={"password": sentinel_password, "socket_timeout": 0.5, "socket_connect_timeout": 0.5},
        socket_timeout=1.0,
        socket_connect_timeout=0.5,
    )
    return sentinel.master_for(master_name, password=tile38_password, socket_timeout=1.0, socket_connect_timeout=0.5)
