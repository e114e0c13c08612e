// The queue pipeline's one program, on the `bull` queue library over redis:
//   node worker.js sender     adds a job with a unique id and a timestamp every INTERVAL_MS
//                             (1500 by default), JOBS of them (0: for ever), then exits
//   node worker.js receiver   processes jobs: prints "processing ID", holds the job HOLD_MS
//                             (0 by default), prints "done ID"
//   node worker.js stats      prints the queue's counts and the ids completed, as one JSON line
// The queue lives in redis at QUEUE_HOST:QUEUE_PORT (redis:6379). A receiver killed mid-job
// holds the job's lock until it expires (LOCK_MS, bull's lockDuration, 30 s by default); then
// a live receiver finds the job stalled and processes it again: no job is lost.
'use strict';

const Queue = require('bull');

const mode = process.argv[2];
const env = (name, fallback) => (process.env[name] === undefined ? fallback : process.env[name]);
const number = (name, fallback) => {
  const value = Number(env(name, fallback));
  if (!Number.isInteger(value) || value < 0) {
    console.error(`worker: ${name}=${process.env[name]} is not a whole number of 0 or more`);
    process.exit(2);
  }
  return value;
};

const lockMs = number('LOCK_MS', 30000);
const queue = new Queue('jobs', {
  redis: { host: env('QUEUE_HOST', 'redis'), port: number('QUEUE_PORT', 6379) },
  // A stalled job (its receiver died) is looked for as often as a lock lasts; one stall is
  // forgiven, a second fails the job, which the test would count as lost.
  settings: { lockDuration: lockMs, stalledInterval: lockMs, maxStalledCount: 1 },
});

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function sender() {
  const jobs = number('JOBS', 0);
  const interval = number('INTERVAL_MS', 1500);
  for (let n = 1; jobs === 0 || n <= jobs; n += 1) {
    const id = `job-${Date.now()}-${n}`;
    await queue.add({ id, sentAt: new Date().toISOString() }, { jobId: id });
    console.log(`sent ${id}`);
    if (jobs === 0 || n < jobs) await sleep(interval);
  }
  console.log(`sender: sent ${jobs}`);
  await queue.close();
}

function receiver() {
  const hold = number('HOLD_MS', 0);
  queue.process(async (job) => {
    console.log(`processing ${job.data.id} (sent ${job.data.sentAt}, attempt ${job.attemptsMade + 1})`);
    if (hold > 0) await sleep(hold);
    console.log(`done ${job.data.id}`);
    return { doneAt: new Date().toISOString() };
  });
  console.log(`receiver: waiting for jobs (lock ${lockMs} ms, hold ${hold} ms)`);
}

async function stats() {
  const counts = await queue.getJobCounts();
  const completed = (await queue.getCompleted(0, -1)).map((job) => job.data.id).sort();
  console.log(JSON.stringify({ counts, completed }));
  await queue.close();
}

const modes = { sender, receiver, stats };
if (!modes[mode]) {
  console.error('usage: node worker.js sender|receiver|stats');
  process.exit(2);
}
// A receiver ends by a signal, as a container does when it is stopped.
for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => queue.close().then(() => process.exit(0)));
Promise.resolve(modes[mode]()).catch((error) => {
  console.error(`worker ${mode}: ${error.message}`);
  process.exit(1);
});
