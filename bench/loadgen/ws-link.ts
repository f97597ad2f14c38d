import WebSocket from 'ws';
import type { Link, LinkFactory, Message } from './bayeux-client.ts';

/** Bayeux over one WebSocket: every batch is one text frame. */
export function webSocketLink(url: string, localAddress: string): LinkFactory {
  return (listener) =>
    new Promise((resolve, reject) => {
      // Compression off: it costs both sides CPU and none of the servers need it.
      const socket = new WebSocket(url, { perMessageDeflate: false, localAddress });
      const link: Link = {
        connectionType: 'websocket',
        send(messages: Message[]) {
          if (socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(messages));
          else listener.fail(messages, new Error('websocket not open'));
        },
        close() {
          socket.close();
        },
      };
      socket.once('open', () => resolve(link));
      socket.once('error', reject);
      socket.on('message', (frame: Buffer) => {
        const parsed: Message | Message[] = JSON.parse(frame.toString());
        listener.receive(Array.isArray(parsed) ? parsed : [parsed]);
      });
    });
}
