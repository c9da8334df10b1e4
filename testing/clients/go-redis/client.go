package main

import (
	"time"

	"github.com/redis/go-redis/v9"
)

// newTile38Client is the go-redis client as docs/clients.md shows it: a failover client that asks the
// sentinels for the leader, with bounded timeouts. Tile38 speaks RESP2 only (no HELLO).
func newTile38Client(sentinels []string, masterName, tile38Password, sentinelPassword string) *redis.Client {
	return redis.NewFailoverClient(&redis.FailoverOptions{
		MasterName:       masterName,
		SentinelAddrs:    sentinels,
		SentinelPassword: sentinelPassword,
		Password:         tile38Password,
		Protocol:         2,
		DisableIdentity:  true,
		DialTimeout:      500 * time.Millisecond,
		ReadTimeout:      time.Second,
		WriteTimeout:     time.Second,
	})
}
