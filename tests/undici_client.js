// Reads an event stream with undici's EventSource until the event with id
// LAST, then prints the ids it saw (in order) as JSON on one line; prints
// "closed after N" if the source closed for good first. Run by
// tests/gateway.rs: node tests/undici_client.js URL LAST (undici found
// through NODE_PATH).
const { EventSource } = require('undici');

const [url, last] = process.argv.slice(2);
const ids = [];
const es = new EventSource(url);
const record = (e) => {
  ids.push(e.lastEventId);
  if (e.lastEventId === last) {
    es.close();
    console.log(JSON.stringify(ids));
    process.exit(0);
  }
};
es.addEventListener('message', record);
es.addEventListener('tick', record);
es.onerror = () => {
  if (es.readyState === EventSource.CLOSED) {
    console.log(JSON.stringify('closed after ' + ids.length));
    process.exit(0);
  }
};
