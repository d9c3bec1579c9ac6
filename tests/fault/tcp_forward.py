#!/usr/bin/env python3
"""Forwards TCP connections, for members in network namespaces of their own:
tcp_forward.py LISTEN_HOST:PORT=TARGET_HOST:PORT ... (prints "ready" once listening).
The development Kafka cluster listens and advertises its brokers on 127.0.0.1 only,
so each namespace forwards its own 127.0.0.1:PORT over a veth pair to the host."""
import asyncio
import sys


async def pipe(reader, writer):
    try:
        while True:
            data = await reader.read(65536)
            if not data:
                break
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        writer.close()


async def main(pairs):
    servers = []
    for listen, target in pairs:
        lh, lp = listen.rsplit(":", 1)
        th, tp = target.rsplit(":", 1)

        async def handle(reader, writer, th=th, tp=int(tp)):
            try:
                treader, twriter = await asyncio.open_connection(th, tp)
            except OSError:
                writer.close()
                return
            await asyncio.gather(pipe(reader, twriter), pipe(treader, writer))

        servers.append(await asyncio.start_server(handle, lh, int(lp)))
    print("ready", flush=True)
    await asyncio.gather(*(s.serve_forever() for s in servers))


if __name__ == "__main__":
    asyncio.run(main([a.split("=", 1) for a in sys.argv[1:]]))
