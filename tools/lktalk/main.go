// lktalk: LiveKit participants for roomscribe's listener-latency benchmark that
// cost the machine next to nothing (no audio decoding or encoding).
//
//	lktalk publish --url ws://127.0.0.1:7880 --token T --file talk.ogg [--start-at UNIX]
//	lktalk probe   --url ws://127.0.0.1:7880 --token T
//
// publish joins, publishes a microphone track and sends the Opus packets of an
// Ogg Opus file as they are, in real time (packet i at start + its position in
// the file), once the captioner says it hears the track (data packet on topic
// roomscribe.hearing) and --start-at has come. It is what `lk room join
// --publish file.ogg` does, with the send times written down: one JSON object
// per line on stdout ("event": joined, published, subscribed, hearing,
// first_packet, done: with its pacing error and the CPU time it used).
//
// probe joins, subscribes to every audio track and writes the arrival time of
// each RTP packet ("event": "rtp", the track, its sequence number and RTP
// timestamp; "blank": a silence frame the SFU made itself): what reaches a
// subscriber through the SFU, before any jitter buffer or decoder. It runs
// until SIGINT/SIGTERM.
//
// Times ("t") are Unix seconds of this machine's clock, as Python's time.time().
package main

import (
	"bufio"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"os/signal"
	"sort"
	"sync"
	"syscall"
	"time"

	"github.com/livekit/protocol/livekit"
	lksdk "github.com/livekit/server-sdk-go/v2"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"
)

const hearingTopic = "roomscribe.hearing"

// out writes one JSON object per line; safe from any goroutine.
type out struct {
	mu sync.Mutex
	w  *bufio.Writer
}

func (o *out) emit(event string, fields string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	t := float64(time.Now().UnixNano()) / 1e9
	if fields != "" {
		fmt.Fprintf(o.w, "{\"event\":%q,\"t\":%.6f,%s}\n", event, t, fields)
	} else {
		fmt.Fprintf(o.w, "{\"event\":%q,\"t\":%.6f}\n", event, t)
	}
}

func (o *out) flush() {
	o.mu.Lock()
	defer o.mu.Unlock()
	_ = o.w.Flush()
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: lktalk publish|probe --url URL --token TOKEN ...")
		os.Exit(2)
	}
	o := &out{w: bufio.NewWriter(os.Stdout)}
	defer o.flush()
	var err error
	switch os.Args[1] {
	case "publish":
		err = publish(o, os.Args[2:])
	case "probe":
		err = probe(o, os.Args[2:])
	default:
		err = fmt.Errorf("unknown command %q (publish or probe)", os.Args[1])
	}
	if err != nil {
		o.flush()
		fmt.Fprintln(os.Stderr, "lktalk:", err)
		os.Exit(1)
	}
}

func unix(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }

func publish(o *out, args []string) error {
	fs := flag.NewFlagSet("publish", flag.ExitOnError)
	url := fs.String("url", "ws://127.0.0.1:7880", "LiveKit server URL")
	token := fs.String("token", "", "join token")
	file := fs.String("file", "", "Ogg Opus file to send")
	startAt := fs.Float64("start-at", 0, "Unix time to send the first packet at (0: once heard)")
	waitHearing := fs.Duration("wait-hearing", 30*time.Second, "how long to wait for the captioner's hearing notice (0: do not wait)")
	lead := fs.Duration("lead", 500*time.Millisecond, "without --start-at: pause between the hearing notice and the first packet")
	linger := fs.Duration("linger", 8*time.Second, "stay in the room this long after the last packet")
	_ = fs.Parse(args)
	if *token == "" || *file == "" {
		return errors.New("publish needs --token and --file")
	}
	packets, err := readOggOpus(*file)
	if err != nil {
		return err
	}
	heard := make(chan struct{})
	var once sync.Once
	cb := lksdk.NewRoomCallback()
	cb.OnDataPacket = func(data lksdk.DataPacket, params lksdk.DataReceiveParams) {
		if p, ok := data.(*lksdk.UserDataPacket); ok && p.Topic == hearingTopic {
			once.Do(func() {
				o.emit("hearing", fmt.Sprintf("\"from\":%q", params.SenderIdentity))
				close(heard)
			})
		}
	}
	cb.OnLocalTrackSubscribed = func(pub *lksdk.LocalTrackPublication, _ *lksdk.LocalParticipant) {
		o.emit("subscribed", fmt.Sprintf("\"track\":%q", pub.SID()))
	}
	room, err := lksdk.ConnectToRoomWithToken(*url, *token, cb, lksdk.WithAutoSubscribe(false))
	if err != nil {
		return fmt.Errorf("join: %w", err)
	}
	defer room.Disconnect()
	o.emit("joined", fmt.Sprintf("\"identity\":%q", room.LocalParticipant.Identity()))
	track, err := lksdk.NewLocalSampleTrack(webrtc.RTPCodecCapability{
		MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2,
	})
	if err != nil {
		return err
	}
	pub, err := room.LocalParticipant.PublishTrack(track, &lksdk.TrackPublicationOptions{
		Name: "microphone", Source: livekit.TrackSource_MICROPHONE, DisableDTX: true,
	})
	if err != nil {
		return fmt.Errorf("publish: %w", err)
	}
	o.emit("published", fmt.Sprintf("\"track\":%q", pub.SID()))
	o.flush()
	if *waitHearing > 0 {
		select {
		case <-heard:
		case <-time.After(*waitHearing):
			return fmt.Errorf("no hearing notice within %s", *waitHearing)
		}
	}
	for !track.IsBound() {
		time.Sleep(5 * time.Millisecond)
	}
	start := time.Now().Add(*lead)
	if *startAt > 0 {
		at := time.Unix(0, int64(*startAt*1e9))
		if at.After(time.Now()) {
			start = at
		} else {
			start = time.Now()
		}
	}
	time.Sleep(time.Until(start))
	var pos time.Duration
	late := make([]float64, 0, len(packets))
	for i, p := range packets {
		due := start.Add(pos)
		if wait := time.Until(due); wait > 0 {
			time.Sleep(wait)
		}
		now := time.Now()
		if i == 0 {
			start = now // the position clock starts at the first packet actually sent
			due = now
		}
		if err := track.WriteSample(media.Sample{Data: p.data, Duration: p.duration, Timestamp: due}, nil); err != nil {
			return fmt.Errorf("packet %d: %w", i, err)
		}
		late = append(late, now.Sub(due).Seconds())
		if i == 0 {
			o.emit("first_packet", fmt.Sprintf("\"at\":%.6f,\"track\":%q,\"packets\":%d", unix(now), pub.SID(), len(packets)))
			o.flush()
		}
		pos += p.duration
	}
	sort.Float64s(late)
	o.emit("done", fmt.Sprintf("\"packets\":%d,\"seconds\":%.3f,\"late_p50_ms\":%.2f,\"late_p99_ms\":%.2f,\"late_max_ms\":%.2f,\"cpu_s\":%.3f",
		len(packets), pos.Seconds(), 1e3*quantile(late, 0.5), 1e3*quantile(late, 0.99), 1e3*quantile(late, 1), cpuSeconds()))
	o.flush()
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM)
	select {
	case <-time.After(*linger):
	case <-stop:
	}
	return nil
}

// cpuSeconds: user + system CPU time this process used so far.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return math.NaN()
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

func quantile(sorted []float64, q float64) float64 {
	if len(sorted) == 0 {
		return math.NaN()
	}
	i := int(q * float64(len(sorted)))
	if i >= len(sorted) {
		i = len(sorted) - 1
	}
	return sorted[i]
}

func probe(o *out, args []string) error {
	fs := flag.NewFlagSet("probe", flag.ExitOnError)
	url := fs.String("url", "ws://127.0.0.1:7880", "LiveKit server URL")
	token := fs.String("token", "", "join token")
	_ = fs.Parse(args)
	if *token == "" {
		return errors.New("probe needs --token")
	}
	cb := lksdk.NewRoomCallback()
	cb.OnTrackSubscribed = func(track *webrtc.TrackRemote, pub *lksdk.RemoteTrackPublication, rp *lksdk.RemoteParticipant) {
		if track.Kind() != webrtc.RTPCodecTypeAudio {
			return
		}
		who, sid := rp.Identity(), pub.SID()
		o.emit("track", fmt.Sprintf("\"identity\":%q,\"track\":%q", who, sid))
		go func() {
			for {
				p, _, err := track.ReadRTP()
				if err != nil {
					return
				}
				o.emit("rtp", fmt.Sprintf("\"identity\":%q,\"seq\":%d,\"ts\":%d,\"bytes\":%d,\"blank\":%t",
					who, p.SequenceNumber, p.Timestamp, len(p.Payload), isBlank(p.Payload)))
			}
		}()
	}
	room, err := lksdk.ConnectToRoomWithToken(*url, *token, cb, lksdk.WithAutoSubscribe(true))
	if err != nil {
		return fmt.Errorf("join: %w", err)
	}
	o.emit("joined", fmt.Sprintf("\"identity\":%q", room.LocalParticipant.Identity()))
	o.flush()
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM)
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-stop:
			room.Disconnect()
			o.emit("done", fmt.Sprintf("\"cpu_s\":%.3f", cpuSeconds()))
			return nil
		case <-tick.C:
			o.flush()
		}
	}
}

// isBlank: the silence frame livekit-server sends on its own (its OpusSilenceFrame:
// f8 ff fe and zeros, 80 bytes), e.g. around a track's mute, not a packet of the talker.
func isBlank(payload []byte) bool {
	if len(payload) != 80 || payload[0] != 0xf8 || payload[1] != 0xff || payload[2] != 0xfe {
		return false
	}
	for _, b := range payload[3:] {
		if b != 0 {
			return false
		}
	}
	return true
}

type opusPacket struct {
	data     []byte
	duration time.Duration
}

// readOggOpus splits an Ogg Opus file into its audio packets (lacing values
// across pages), without the OpusHead and OpusTags header packets.
func readOggOpus(path string) ([]opusPacket, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r := bufio.NewReader(f)
	var packets []opusPacket
	var partial []byte
	header := make([]byte, 27)
	for {
		if _, err := io.ReadFull(r, header); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if string(header[:4]) != "OggS" {
			return nil, fmt.Errorf("%s: not an Ogg file", path)
		}
		_ = binary.LittleEndian.Uint64(header[6:14]) // granule position
		lacing := make([]byte, header[26])
		if _, err := io.ReadFull(r, lacing); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		for _, n := range lacing {
			seg := make([]byte, n)
			if _, err := io.ReadFull(r, seg); err != nil {
				return nil, fmt.Errorf("%s: %w", path, err)
			}
			partial = append(partial, seg...)
			if n < 255 {
				if len(partial) >= 8 && (string(partial[:8]) == "OpusHead" || string(partial[:8]) == "OpusTags") {
					partial = nil
					continue
				}
				if len(partial) > 0 {
					packets = append(packets, opusPacket{partial, opusDuration(partial)})
				}
				partial = nil
			}
		}
	}
	if len(packets) == 0 {
		return nil, fmt.Errorf("%s: no Opus packets", path)
	}
	return packets, nil
}

// opusDuration reads a packet's duration from its TOC byte (RFC 6716, 3.1).
func opusDuration(p []byte) time.Duration {
	config := p[0] >> 3
	var frame time.Duration
	switch {
	case config < 12:
		frame = []time.Duration{10, 20, 40, 60}[config%4] * time.Millisecond
	case config < 16:
		frame = []time.Duration{10, 20}[config%2] * time.Millisecond
	default:
		frame = []time.Duration{2500, 5000, 10000, 20000}[config%4] * time.Microsecond
	}
	frames := 1
	switch p[0] & 3 {
	case 1, 2:
		frames = 2
	case 3:
		if len(p) > 1 {
			frames = int(p[1] & 0x3f)
		}
	}
	return frame * time.Duration(frames)
}
