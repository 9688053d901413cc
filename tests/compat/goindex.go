// goindex - the Go minikeyvalue's side of mkv's compatibility test.
//
// It touches a LevelDB index exactly as the Go minikeyvalue does, through
// goleveldb opened with default options, and computes key placement by the
// rules DESIGN.md states, written independently of the C code, so golevel.sh
// checks the C mkv against a second implementation instead of against itself.
//
//	goindex write DB < records     put every "KEY\tRECORD" line of stdin
//	goindex dump DB                print every "KEY\tRECORD", in key order
//	goindex place KEY VOLUMES REPLICAS SUBVOLUMES
//	                               print the replicas (comma-joined) the Go mkv
//	                               picks for KEY, then the value's path
//
// Build it in GOPATH mode against Debian's golang-github-syndtr-goleveldb-dev:
//
//	GO111MODULE=off GOPATH=/usr/share/gocode go build -o goindex goindex.go
package main

import (
	"bufio"
	"bytes"
	"crypto/md5"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"

	"github.com/syndtr/goleveldb/leveldb"
)

// open opens DB as the Go mkv does: leveldb.OpenFile(path, nil).
func open(path string) *leveldb.DB {
	db, err := leveldb.OpenFile(path, nil)
	if err != nil {
		fail("open %s: %v", path, err)
	}
	return db
}

// write puts each "KEY\tRECORD" line of stdin, one Put per record, as the Go
// mkv's PutRecord does: db.Put([]byte(key), []byte(record), nil).
func write(path string) {
	db := open(path)
	defer db.Close()
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<16), 1<<20)
	for in.Scan() {
		key, record, ok := strings.Cut(in.Text(), "\t")
		if !ok {
			fail("write: no tab in line %q", in.Text())
		}
		if err := db.Put([]byte(key), []byte(record), nil); err != nil {
			fail("put %q: %v", key, err)
		}
	}
	if err := in.Err(); err != nil {
		fail("write: stdin: %v", err)
	}
}

// dump prints every key and record, in the order the Go mkv's listings see them.
func dump(path string) {
	db := open(path)
	defer db.Close()
	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	it := db.NewIterator(nil, nil)
	defer it.Release()
	for it.Next() {
		fmt.Fprintf(out, "%s\t%s\n", it.Key(), it.Value())
	}
	if err := it.Error(); err != nil {
		fail("dump: %v", err)
	}
}

// valuePath is where a value lives on a volume, by the rule DESIGN.md states:
// the first two bytes of md5(key) in hex as directories, then the key in
// standard padded base64.
func valuePath(key []byte) string {
	sum := md5.Sum(key)
	return "/" + hex.EncodeToString(sum[:1]) + "/" + hex.EncodeToString(sum[1:2]) +
		"/" + base64.StdEncoding.EncodeToString(key)
}

// replicasOf ranks the volumes by md5(key followed by the volume's name),
// highest first with ties kept in configured order, and names the first n,
// each with its subvolume (the score's last four bytes, big-endian, modulo
// subvolumes, as two uppercase hex digits) unless there is a single one.
func replicasOf(key []byte, volumes []string, n, subvolumes int) []string {
	scores := make([][md5.Size]byte, len(volumes))
	order := make([]int, len(volumes))
	for i, v := range volumes {
		scores[i] = md5.Sum(append(append([]byte{}, key...), v...))
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool {
		return bytes.Compare(scores[order[a]][:], scores[order[b]][:]) > 0
	})
	chosen := make([]string, n)
	for i := range chosen {
		v := order[i]
		chosen[i] = volumes[v]
		if subvolumes > 1 {
			sv := binary.BigEndian.Uint32(scores[v][12:]) % uint32(subvolumes)
			chosen[i] += fmt.Sprintf("/sv%02X", sv)
		}
	}
	return chosen
}

// place prints KEY's replicas, comma-joined as in a record, then its path.
func place(key, volumes, replicas, subvolumes string) {
	vols := strings.Split(volumes, ",")
	n, err := strconv.Atoi(replicas)
	if err != nil || n < 1 || n > len(vols) {
		fail("place: bad replica count %q", replicas)
	}
	sv, err := strconv.Atoi(subvolumes)
	if err != nil || sv < 1 {
		fail("place: bad subvolume count %q", subvolumes)
	}
	fmt.Println(strings.Join(replicasOf([]byte(key), vols, n, sv), ","))
	fmt.Println(valuePath([]byte(key)))
}

func fail(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "goindex: "+format+"\n", args...)
	os.Exit(1)
}

func main() {
	args := os.Args[1:]
	switch {
	case len(args) == 2 && args[0] == "write":
		write(args[1])
	case len(args) == 2 && args[0] == "dump":
		dump(args[1])
	case len(args) == 5 && args[0] == "place":
		place(args[1], args[2], args[3], args[4])
	default:
		fail("usage: goindex write DB < records | dump DB | place KEY VOLUMES REPLICAS SUBVOLUMES")
	}
}
