import assert from "node:assert/strict";
import { test } from "node:test";

import { CaptionerWatch } from "../src/captioner-status.js";

// longer than the defaults, to keep the times below easy to read
const OPTIONS = { staleMs: 5_000, missingMs: 20_000, hearMs: 3_000 };

test("starting until the captioner joins; missing if none comes", () => {
  const watch = new CaptionerWatch(1_000, OPTIONS);
  watch.observe(1_000, null);
  assert.equal(watch.state(1_000), "starting");
  assert.equal(watch.state(20_999), "starting");
  assert.equal(watch.state(21_000), "missing");
  watch.observe(22_000, { sid: "PA_1", heartbeat: "1" });
  assert.equal(watch.state(22_000), "on");
});

test("a heartbeat that stops interrupts the captions; a new beat restores them", () => {
  const watch = new CaptionerWatch(0, OPTIONS);
  for (let t = 0; t <= 10_000; t += 1_000) watch.observe(t, { sid: "PA_1", heartbeat: String(t) });
  assert.equal(watch.state(10_000), "on");
  // the captioner's process died: it stays listed, its attribute never changes again
  watch.observe(14_000, { sid: "PA_1", heartbeat: "10000" });
  assert.equal(watch.state(15_000), "on");
  assert.equal(watch.state(15_001), "interrupted");
  watch.observe(16_000, { sid: "PA_1", heartbeat: "16000" });
  assert.equal(watch.state(16_000), "on");
});

test("a captioner that leaves interrupts the captions until another joins", () => {
  const watch = new CaptionerWatch(0, OPTIONS);
  watch.observe(500, { sid: "PA_1", heartbeat: "1" });
  watch.observe(2_000, null);
  assert.equal(watch.state(2_000), "interrupted");
  assert.equal(watch.state(60_000), "interrupted", "never 'missing' once one was seen");
  // the healer's new captioner may carry the same heartbeat value: its sid is new
  watch.observe(5_000, { sid: "PA_2", heartbeat: "1" });
  assert.equal(watch.state(5_000), "on");
  assert.equal(watch.state(10_001), "interrupted");
});

test("a captioner that sends no heartbeat counts as alive while present", () => {
  const watch = new CaptionerWatch(0, OPTIONS);
  watch.observe(0, { sid: "PA_1", heartbeat: undefined });
  assert.equal(watch.state(600_000), "on");
});

test("rejoining after it left counts from the return, not from the last beat", () => {
  const watch = new CaptionerWatch(0, OPTIONS);
  watch.observe(0, { sid: "PA_1", heartbeat: "7" });
  watch.observe(1_000, null);
  watch.observe(30_000, { sid: "PA_1", heartbeat: "7" });
  assert.equal(watch.state(30_000), "on");
});

test("with a microphone: starting until the captioner says it hears it", () => {
  const watch = new CaptionerWatch(0, OPTIONS);
  watch.observe(500, { sid: "PA_1", heartbeat: "1", hearsYou: false });
  assert.equal(watch.state(500), "starting", "speech now would be lost");
  watch.observe(900, { sid: "PA_1", heartbeat: "1", hearsYou: true });
  assert.equal(watch.state(900), "on");
});

test("a captioner that never says it hears the microphone is on after hearMs", () => {
  const watch = new CaptionerWatch(0, OPTIONS);
  watch.observe(500, { sid: "PA_1", heartbeat: "1", hearsYou: false });
  watch.observe(3_000, { sid: "PA_1", heartbeat: "2", hearsYou: false });
  assert.equal(watch.state(3_499), "starting");
  assert.equal(watch.state(3_500), "on");
});

test("without a microphone there is nothing to wait for", () => {
  const watch = new CaptionerWatch(0, OPTIONS);
  watch.observe(500, { sid: "PA_1", heartbeat: "1", hearsYou: undefined });
  assert.equal(watch.state(500), "on");
});

test("a new captioner after a failure must hear the microphone again", () => {
  const watch = new CaptionerWatch(0, OPTIONS);
  watch.observe(0, { sid: "PA_1", heartbeat: "1", hearsYou: true });
  watch.observe(10_000, null);
  assert.equal(watch.state(10_000), "interrupted");
  watch.observe(12_000, { sid: "PA_2", heartbeat: "1", hearsYou: false });
  assert.equal(watch.state(12_000), "interrupted", "until the new one hears us");
  watch.observe(12_400, { sid: "PA_2", heartbeat: "1", hearsYou: true });
  assert.equal(watch.state(12_400), "on");
});

test("a microphone waiting for capacity says so for as long as it waits", () => {
  const watch = new CaptionerWatch(0, OPTIONS);
  watch.observe(500, { sid: "PA_1", heartbeat: "1", hearsYou: false, waitsForYou: true });
  assert.equal(watch.state(500), "waiting");
  // past hearMs a captioner that never says it hears us counts as on, not a waiting one
  watch.observe(60_000, { sid: "PA_1", heartbeat: "60", hearsYou: false, waitsForYou: true });
  assert.equal(watch.state(60_000), "waiting");
  watch.observe(61_000, { sid: "PA_1", heartbeat: "61", hearsYou: true, waitsForYou: false });
  assert.equal(watch.state(61_000), "on");
  // a dead captioner is interrupted, whatever it last said
  watch.observe(62_000, { sid: "PA_1", heartbeat: "61", hearsYou: false, waitsForYou: true });
  assert.equal(watch.state(66_001), "interrupted");
});
