// Command tile38-writer writes one Tile38 point every INTERVAL_MS through the sentinels with
// go-redis (NewFailoverClient) and prints one JSON line per write on stdout:
// {"ack": id, "sent": ms, "at": ms} or {"err": message, "sent": ms, "at": ms}. Stops on SIGTERM.
// Environment: SENTINELS (host:port,...), MASTER_NAME, TILE38_PASSWORD, SENTINEL_PASSWORD,
// INTERVAL_MS (10), PREFIX, KEY ("fleet").
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"
)

type line struct {
	Ack  string `json:"ack,omitempty"`
	Err  string `json:"err,omitempty"`
	Sent int64  `json:"sent"`
	At   int64  `json:"at"`
}

func env(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

func main() {
	interval, _ := strconv.Atoi(env("INTERVAL_MS", "10"))
	prefix := env("PREFIX", "go")
	key := env("KEY", "fleet")
	client := newTile38Client(strings.Split(os.Getenv("SENTINELS"), ","), os.Getenv("MASTER_NAME"), os.Getenv("TILE38_PASSWORD"), os.Getenv("SENTINEL_PASSWORD"))
	defer client.Close()

	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	out := bufio.NewWriter(os.Stdout)
	enc := json.NewEncoder(out)
	ctx := context.Background()
	for seq := 1; ; seq++ {
		select {
		case <-stop:
			out.Flush()
			return
		default:
		}
		id := fmt.Sprintf("%s%d", prefix, seq)
		sent := time.Now()
		lat := 33 + float64(seq%1000)/1000
		lon := -112 + float64(seq%997)/1000
		err := client.Do(ctx, "SET", key, id, "POINT", strconv.FormatFloat(lat, 'f', -1, 64), strconv.FormatFloat(lon, 'f', -1, 64)).Err()
		l := line{Sent: sent.UnixMilli(), At: time.Now().UnixMilli()}
		if err != nil {
			l.Err = err.Error()
		} else {
			l.Ack = id
		}
		_ = enc.Encode(l)
		out.Flush()
		if wait := time.Until(sent.Add(time.Duration(interval) * time.Millisecond)); wait > 0 {
			time.Sleep(wait)
		}
	}
}
