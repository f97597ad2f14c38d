/** FIN set, opcode 1: a whole text message in one frame (RFC 6455 §5.2, §5.6). */
const FIN_TEXT = 0x81
/** Payload lengths up to this fit the 7-bit length field; longer ones take 16 or 64 bits. */
const SHORT_LENGTH = 125
const MEDIUM_LENGTH = 0xffff

/**
 * `text` as one unmasked text frame: header and UTF-8 payload in one buffer. A server's
 * frames are never masked (RFC 6455 §5.1), so the bytes are the same for every socket: a
 * broadcast event is framed once and the same buffer written to each, one write apiece.
 */
export function textFrame (text: string): Buffer {
  const length = Buffer.byteLength(text)
  const header = length <= SHORT_LENGTH ? 2 : length <= MEDIUM_LENGTH ? 4 : 10
  const frame = Buffer.allocUnsafe(header + length)
  frame[0] = FIN_TEXT
  if (header === 2) {
    frame[1] = length
  } else if (header === 4) {
    frame[1] = 126
    frame.writeUInt16BE(length, 2)
  } else {
    frame[1] = 127
    frame.writeBigUInt64BE(BigInt(length), 2)
  }
  frame.write(text, header)
  return frame
}
