// mcap-check reads MCAP files with the official Go MCAP library (github.com/foxglove/mcap/go/mcap) and prints,
// per file, a JSON line: the problems it found (as `mcap doctor` would: chunk CRCs, chunk and statistics
// records that disagree with the messages, channels without a schema) and what `mcap info` prints (counts
// per topic, time range, compression). The mcap CLI itself is not on the Go module proxy, so this small
// program stands in for it, written against the same library.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/foxglove/mcap/go/mcap"
)

type report struct {
	File         string            `json:"file"`
	Errors       []string          `json:"errors"`
	Warnings     []string          `json:"warnings"`
	Profile      string            `json:"profile"`
	MessageCount uint64            `json:"messageCount"`
	Start        string            `json:"start"`
	End          string            `json:"end"`
	Topics       map[string]uint64 `json:"topics"`
	Schemas      map[string]string `json:"schemas"`
	Compression  map[string]int    `json:"compression"`
	Chunks       int               `json:"chunks"`
}

func (r *report) errorf(format string, args ...any) { r.Errors = append(r.Errors, fmt.Sprintf(format, args...)) }

func main() {
	out := json.NewEncoder(os.Stdout)
	for _, path := range os.Args[1:] {
		r := check(path)
		if err := out.Encode(r); err != nil {
			panic(err)
		}
	}
}

func check(path string) *report {
	r := &report{File: path, Errors: []string{}, Warnings: []string{}, Topics: map[string]uint64{}, Schemas: map[string]string{}, Compression: map[string]int{}}
	data, err := os.ReadFile(path)
	if err != nil {
		r.errorf("read: %v", err)
		return r
	}
	counts, first, last := scan(r, data)
	summary(r, data, counts, first, last)
	return r
}

// scan reads every record in file order, chunks decompressed with their CRCs checked, and counts messages.
func scan(r *report, data []byte) (map[uint16]uint64, uint64, uint64) {
	counts := map[uint16]uint64{}
	first, last := ^uint64(0), uint64(0)
	lexer, err := mcap.NewLexer(bytes.NewReader(data), &mcap.LexerOptions{ValidateChunkCRCs: true})
	if err != nil {
		r.errorf("not an MCAP file: %v", err)
		return counts, first, last
	}
	defer lexer.Close()
	schemas := map[uint16]bool{}
	channels := map[uint16]bool{}
	for {
		token, record, err := lexer.Next(nil)
		if errors.Is(err, io.EOF) {
			r.errorf("the file ends before its footer")
			break
		}
		if err != nil {
			r.errorf("record: %v", err)
			break
		}
		switch token {
		case mcap.TokenHeader:
			h, _ := mcap.ParseHeader(record)
			r.Profile = h.Profile
		case mcap.TokenSchema:
			s, err := mcap.ParseSchema(record)
			if err != nil {
				r.errorf("schema: %v", err)
				continue
			}
			schemas[s.ID] = true
			r.Schemas[s.Name] = s.Encoding
			if s.Encoding != "ros2msg" {
				r.errorf("schema %s: encoding %q, not ros2msg", s.Name, s.Encoding)
			}
		case mcap.TokenChannel:
			c, err := mcap.ParseChannel(record)
			if err != nil {
				r.errorf("channel: %v", err)
				continue
			}
			if !schemas[c.SchemaID] {
				r.errorf("channel %s names schema %d, not defined before it", c.Topic, c.SchemaID)
			}
			if c.MessageEncoding != "cdr" {
				r.errorf("channel %s: message encoding %q", c.Topic, c.MessageEncoding)
			}
			channels[c.ID] = true
		case mcap.TokenMessage:
			m, err := mcap.ParseMessage(record)
			if err != nil {
				r.errorf("message: %v", err)
				continue
			}
			if !channels[m.ChannelID] {
				r.errorf("message on channel %d, not defined before it", m.ChannelID)
			}
			counts[m.ChannelID]++
			first, last = min(first, m.LogTime), max(last, m.LogTime)
		case mcap.TokenFooter:
			return counts, first, last
		}
	}
	return counts, first, last
}

// summary checks the summary section (what `mcap info` prints) against what scan counted, and reads
// every message again through the chunk indexes.
func summary(r *report, data []byte, counts map[uint16]uint64, first, last uint64) {
	reader, err := mcap.NewReader(bytes.NewReader(data))
	if err != nil {
		r.errorf("reader: %v", err)
		return
	}
	info, err := reader.Info()
	if err != nil {
		r.errorf("summary: %v", err)
		return
	}
	stats := info.Statistics
	if stats == nil {
		r.Warnings = append(r.Warnings, "no statistics record")
		return
	}
	r.MessageCount = stats.MessageCount
	r.Start, r.End = fmt.Sprint(stats.MessageStartTime), fmt.Sprint(stats.MessageEndTime)
	r.Chunks = len(info.ChunkIndexes)
	var total uint64
	for id, n := range counts {
		total += n
		ch := info.Channels[id]
		if ch == nil {
			r.errorf("channel %d has messages but is not in the summary", id)
			continue
		}
		r.Topics[ch.Topic] += stats.ChannelMessageCounts[id]
		if stats.ChannelMessageCounts[id] != n {
			r.errorf("statistics say %d messages on %s, the file holds %d", stats.ChannelMessageCounts[id], ch.Topic, n)
		}
	}
	if total != stats.MessageCount {
		r.errorf("statistics say %d messages, the file holds %d", stats.MessageCount, total)
	}
	if total > 0 && (stats.MessageStartTime != first || stats.MessageEndTime != last) {
		r.errorf("statistics time range %d..%d, messages span %d..%d", stats.MessageStartTime, stats.MessageEndTime, first, last)
	}
	if int(stats.ChunkCount) != len(info.ChunkIndexes) {
		r.errorf("statistics say %d chunks, %d chunk indexes", stats.ChunkCount, len(info.ChunkIndexes))
	}
	for _, ci := range info.ChunkIndexes {
		r.Compression[string(ci.Compression)]++
		checkChunk(r, data, ci)
	}
	it, err := reader.Messages(mcap.UsingIndex(true))
	if err != nil {
		r.errorf("indexed read: %v", err)
		return
	}
	var indexed uint64
	for {
		_, _, _, err := it.NextInto(nil)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			r.errorf("indexed read: %v", err)
			return
		}
		indexed++
	}
	if indexed != total {
		r.errorf("the chunk indexes reach %d messages, the file holds %d", indexed, total)
	}
}

// checkChunk reads the chunk a chunk index points at and compares the two records.
func checkChunk(r *report, data []byte, ci *mcap.ChunkIndex) {
	end := ci.ChunkStartOffset + ci.ChunkLength
	if end > uint64(len(data)) || ci.ChunkLength < 9 || data[ci.ChunkStartOffset] != byte(mcap.OpChunk) {
		r.errorf("chunk index points at offset %d, not a chunk", ci.ChunkStartOffset)
		return
	}
	chunk, err := mcap.ParseChunk(data[ci.ChunkStartOffset+9 : end])
	if err != nil {
		r.errorf("chunk at %d: %v", ci.ChunkStartOffset, err)
		return
	}
	if chunk.MessageStartTime != ci.MessageStartTime || chunk.MessageEndTime != ci.MessageEndTime {
		r.errorf("chunk at %d: index says %d..%d, chunk says %d..%d", ci.ChunkStartOffset, ci.MessageStartTime, ci.MessageEndTime, chunk.MessageStartTime, chunk.MessageEndTime)
	}
	if chunk.Compression != string(ci.Compression) || uint64(len(chunk.Records)) != ci.CompressedSize || chunk.UncompressedSize != ci.UncompressedSize {
		r.errorf("chunk at %d: compression or sizes differ from its index", ci.ChunkStartOffset)
	}
}
