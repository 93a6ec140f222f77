import { PORTS } from '../paths.ts';
import { createGrafanaFake } from './grafana/fake.ts';
import { createHawkbitFake } from './hawkbit/fake.ts';
import { createInfluxFake } from './influxdb/fake.ts';
import { listen } from './server.ts';
import { createThingsBoardFake } from './thingsboard/fake.ts';

/** Runs one contract fake on 127.0.0.1: `main.ts <thingsboard|grafana|hawkbit|influxdb> <port>`. */
const factories = {
  thingsboard: () => createThingsBoardFake().app,
  grafana: () => createGrafanaFake().app,
  hawkbit: () => createHawkbitFake().app,
  influxdb2: () => createInfluxFake({ backend: `http://127.0.0.1:${PORTS.influxdb}` }).app,
};

const [name, port] = process.argv.slice(2);
const make = factories[name as keyof typeof factories];
if (!make || !port) {
  console.error(`usage: main.ts <${Object.keys(factories).join('|')}> <port>`);
  process.exit(2);
}
const started = Date.now();
listen(make(), Number(port)).then(
  ({ url }) => console.log(`${name} contract fake listening on ${url} (${Date.now() - started} ms)`),
  (err: Error) => {
    console.error(`${name} fake: ${err.message}`);
    process.exit(1);
  },
);
