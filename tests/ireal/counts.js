// The independent reader's bar counts (pianosnake/ireal-reader, from the npm registry): one JSON
// line per tune of every irealb:// link in the files named. Usage: node counts.js READER FILE...
const read = require(process.argv[2]);
const fs = require('fs');
for (const file of process.argv.slice(3)) {
  const text = fs.readFileSync(file, 'utf8');
  (text.match(/irealb:\/\/[^"\s<>]+/g) || []).forEach((link, n) => {
    read(link).songs.forEach((song, index) => console.log(JSON.stringify({
      file: file.split('/').pop(), link: n, index, title: song.title, bars: song.music.measures.length,
    })));
  });
}
