import type { Writable } from 'node:stream'
import t from 'tap'
import * as ws from 'ws'
import { textFrame } from '../../lib/transports/websocket-frame.ts'

/** ws's frame parser (exported, not in its types): a writable stream of frames that emits their messages. */
const { Receiver } = ws as unknown as { Receiver: new (options: { isServer: boolean }) => Writable }

/** What ws, as the client that reads the frame, makes of it. */
async function received (frame: Buffer): Promise<{ text: string, binary: boolean }> {
  const receiver = new Receiver({ isServer: false })
  return await new Promise((resolve, reject) => {
    receiver.on('message', (data: Buffer, binary: boolean) => resolve({ text: data.toString(), binary }))
    receiver.on('error', reject)
    receiver.write(frame)
  })
}

t.test('a text frame carries its text whole, at every length field size (RFC 6455 §5.2)', async t => {
  for (const length of [0, 1, 125, 126, 127, 65_535, 65_536, 70_000]) {
    const text = 'x'.repeat(length)
    const frame = textFrame(text)
    const header = length <= 125 ? 2 : length <= 65_535 ? 4 : 10
    t.equal(frame.length, header + length, `${length} bytes: a ${header}-byte header`)
    t.equal(frame[0], 0x81, 'FIN and the text opcode')
    t.equal(frame[1]! & 0x80, 0, 'not masked: server frames never are (§5.1)')
    t.same(await received(frame), { text, binary: false }, `${length} bytes read back as sent`)
  }
})

t.test('the length counts UTF-8 bytes, not characters', async t => {
  const text = '[{"data":"héllo ✓ 😀"}]'
  const frame = textFrame(text)
  t.equal(frame.length, 2 + Buffer.byteLength(text))
  t.same(await received(frame), { text, binary: false })
})
