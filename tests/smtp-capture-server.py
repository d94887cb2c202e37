#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""A small SMTP server that keeps what it receives, for the mail tests.

Listens on 127.0.0.1 on a free port and prints "PORT <n>" once it does.
Every message accepted is written to DIR as <n>.eml (the bytes after DATA,
dot-stuffing undone) with <n>.json beside it: the envelope, the number of
the connection it came over, whether that connection used TLS and who
authenticated. DIR/connections.json lists each connection: its number,
the messages it carried, whether it ended with QUIT, and how many of its
commands came before the reply to the one ahead of them (pipelined). Files are written
before the reply to the final "." so a client that got its 250 finds them.

Only the Python standard library: the tests must run on a plain Debian.
"""

import argparse
import asyncio
import base64
import json
import os
import signal
import ssl
import sys


class Server:
    def __init__(self, args):
        self.args = args
        self.directory = args.dir
        self.n_messages = 0
        self.deferred = set()
        self.connections = []
        self.tls_context = None
        if args.tls_cert:
            self.tls_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            self.tls_context.load_cert_chain(args.tls_cert, args.tls_key)

    def write_json(self, name, value):
        path = os.path.join(self.directory, name)
        with open(path + ".tmp", "w", encoding="utf-8") as f:
            json.dump(value, f, ensure_ascii=False, indent=1)
        os.replace(path + ".tmp", path)

    def save_connections(self):
        self.write_json("connections.json", self.connections)

    def save_message(self, connection, envelope, data):
        self.n_messages += 1
        n = self.n_messages
        path = os.path.join(self.directory, "%d.eml" % n)
        with open(path + ".tmp", "wb") as f:
            f.write(data)
        os.replace(path + ".tmp", path)
        self.write_json("%d.json" % n, {
            "mail_from": envelope["mail_from"],
            "mail_parameters": envelope["mail_parameters"],
            "rcpt_to": envelope["rcpt_to"],
            "connection": connection["number"],
            "tls": connection["tls"],
            "auth_user": connection["auth_user"],
            "auth_password": connection["auth_password"],
        })
        connection["messages"] += 1
        self.save_connections()
        return n

    async def handle(self, reader, writer):
        connection = {
            "number": len(self.connections) + 1,
            "messages": 0,
            "quit": False,
            "tls": self.args.implicit_tls,
            "auth_user": None,
            "auth_password": None,
            "pipelined": 0,
        }
        self.connections.append(connection)
        self.save_connections()
        try:
            await self.session(connection, reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError, ssl.SSLError):
            pass
        finally:
            self.save_connections()
            writer.close()

    async def session(self, connection, reader, writer):
        async def reply(line):
            writer.write(line.encode() + b"\r\n")
            await writer.drain()

        async def read_line():
            if self.args.idle_timeout:
                try:
                    line = await asyncio.wait_for(reader.readline(), self.args.idle_timeout)
                except asyncio.TimeoutError:
                    # as Postfix's smtpd does at smtpd_timeout
                    await reply("421 4.4.2 capture Error: timeout exceeded")
                    raise ConnectionError("idle")
            else:
                line = await reader.readline()
            if not line:
                raise ConnectionError("client went away")
            # the next command is here before this one's reply went out
            if b"\n" in reader._buffer:
                connection["pipelined"] += 1
            return line.rstrip(b"\r\n").decode("utf-8", "replace")

        async def fail_here(stage):
            if self.args.fail_second and n_mail_commands == 2:
                wanted, _, line = self.args.fail_second.partition("=")
                if wanted == stage:
                    await reply(line)
                    return True
            return False

        await reply("220 capture ESMTP ready")
        envelope = None
        n_mail_commands = 0

        while True:
            line = await read_line()
            verb, _, argument = line.partition(" ")
            verb = verb.upper()

            if verb in ("EHLO", "HELO"):
                envelope = None
                if verb == "HELO":
                    await reply("250 capture")
                    continue
                lines = ["capture", "8BITMIME", "SIZE 52428800"]
                if not self.args.no_smtputf8:
                    lines.append("SMTPUTF8")
                if self.args.pipelining:
                    lines.append("PIPELINING")
                if self.tls_context and not connection["tls"]:
                    lines.append("STARTTLS")
                if self.args.password is not None:
                    lines.append("AUTH PLAIN")
                for extension in lines[:-1]:
                    await reply("250-" + extension)
                await reply("250 " + lines[-1])
            elif verb == "STARTTLS" and self.tls_context and not connection["tls"]:
                await reply("220 2.0.0 Ready to start TLS")
                await writer.start_tls(self.tls_context)
                connection["tls"] = True
                envelope = None
            elif verb == "AUTH" and self.args.password is not None:
                mechanism, _, initial = argument.partition(" ")
                if mechanism.upper() != "PLAIN":
                    await reply("504 5.5.4 Unrecognized authentication type")
                    continue
                if not initial:
                    await reply("334 ")
                    initial = await read_line()
                try:
                    _, user, password = base64.b64decode(initial).decode("utf-8").split("\0")
                except ValueError:
                    await reply("501 5.5.2 Cannot decode the response")
                    continue
                if password != self.args.password:
                    await reply("535 5.7.8 Authentication credentials invalid")
                    continue
                connection["auth_user"] = user
                connection["auth_password"] = password
                await reply("235 2.7.0 Authentication successful")
            elif verb == "MAIL":
                n_mail_commands += 1
                if self.args.drop_second_mail and n_mail_commands == 2:
                    # as a server that timed out the idle connection would
                    return
                if self.args.password is not None and connection["auth_user"] is None:
                    await reply("530 5.7.0 Authentication required")
                    continue
                if await fail_here("MAIL"):
                    continue
                path, _, parameters = argument[len("FROM:"):].partition(" ")
                envelope = {"mail_from": path.strip("<>"), "mail_parameters": parameters.split(),
                            "rcpt_to": []}
                await reply("250 2.1.0 Ok")
            elif verb == "RCPT":
                if envelope is None:
                    await reply("503 5.5.1 MAIL first")
                    continue
                address = argument[len("TO:"):].split(" ")[0].strip("<>")
                if await fail_here("RCPT"):
                    continue
                if address in self.args.reject_rcpt:
                    await reply("550 5.1.1 <%s>: Recipient address rejected: User unknown" % address)
                    continue
                if address in self.args.defer_rcpt_once and address not in self.deferred:
                    self.deferred.add(address)
                    await reply("450 4.2.0 <%s>: Recipient address rejected: Greylisted, try again later" % address)
                    continue
                envelope["rcpt_to"].append(address)
                await reply("250 2.1.5 Ok")
            elif verb == "DATA":
                if (envelope is None or not envelope["rcpt_to"]) and not self.args.data_354_always:
                    await reply("503 5.5.1 RCPT first")
                    continue
                if await fail_here("DATA"):
                    continue
                await reply("354 End data with <CR><LF>.<CR><LF>")
                data = bytearray()
                while True:
                    raw = await reader.readline()
                    if not raw:
                        raise ConnectionError("client went away in DATA")
                    if raw in (b".\r\n", b".\n"):
                        break
                    if raw.startswith(b"."):
                        raw = raw[1:]
                    data += raw
                if await fail_here("END"):
                    envelope = None
                    continue
                if envelope is None or not envelope["rcpt_to"]:
                    await reply("554 5.5.1 No valid recipients")
                    continue
                n = self.save_message(connection, envelope, bytes(data))
                envelope = None
                await reply("250 2.0.0 Ok: queued as CAPTURE%d" % n)
                if self.args.close_after_message:
                    return
            elif verb == "RSET":
                envelope = None
                await reply("250 2.0.0 Ok")
            elif verb == "NOOP":
                await reply("250 2.0.0 Ok")
            elif verb == "QUIT":
                connection["quit"] = True
                connection["n_quit"] = connection.get("n_quit", 0) + 1
                if self.args.ignore_quit:
                    self.save_connections()
                    await asyncio.sleep(3600)
                self.save_connections()
                await reply("221 2.0.0 Bye")
                if self.args.linger_after_quit:
                    try:
                        more = await asyncio.wait_for(reader.readline(), 0.5)
                        if more:  # not the end of the connection
                            connection["after_quit"] = more.decode("utf-8", "replace")
                            self.save_connections()
                    except asyncio.TimeoutError:
                        pass
                return
            else:
                await reply("502 5.5.2 Error: command not recognized")


async def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("dir")
    parser.add_argument("--tls-cert")
    parser.add_argument("--tls-key")
    parser.add_argument("--implicit-tls", action="store_true",
                        help="TLS from the start (smtps) instead of STARTTLS")
    parser.add_argument("--password",
                        help="offer AUTH PLAIN, require it, and accept this password")
    parser.add_argument("--reject-rcpt", action="append", default=[],
                        help="answer 550 to RCPT TO this address")
    parser.add_argument("--defer-rcpt-once", action="append", default=[],
                        help="answer 450 to the first RCPT TO this address, 250 to the next")
    parser.add_argument("--drop-second-mail", action="store_true",
                        help="close a connection without a reply at its second MAIL FROM")
    parser.add_argument("--fail-second", metavar="STAGE=REPLY",
                        help="answer REPLY at STAGE (MAIL, RCPT, DATA or END, the end of the "
                             "data) of each connection's second message, the usual reply otherwise")
    parser.add_argument("--close-after-message", action="store_true",
                        help="close a connection, without a word, after each message is taken")
    parser.add_argument("--pipelining", action="store_true",
                        help="offer PIPELINING (RFC 2920)")
    parser.add_argument("--no-smtputf8", action="store_true",
                        help="do not offer SMTPUTF8 (RFC 6531)")
    parser.add_argument("--idle-timeout", type=float, default=0,
                        help="answer 421 and close a connection idle this many seconds")
    parser.add_argument("--linger-after-quit", action="store_true",
                        help="record a line the client sends after QUIT")
    parser.add_argument("--data-354-always", action="store_true",
                        help="answer 354 to DATA even with no recipient accepted")
    parser.add_argument("--ignore-quit", action="store_true",
                        help="never answer QUIT")
    args = parser.parse_args()

    server = Server(args)
    loop = asyncio.get_running_loop()
    stop = loop.create_future()
    loop.add_signal_handler(signal.SIGTERM, stop.set_result, None)
    loop.add_signal_handler(signal.SIGINT, stop.set_result, None)

    listener = await asyncio.start_server(
        server.handle, "127.0.0.1", 0,
        ssl=server.tls_context if args.implicit_tls else None)
    server.save_connections()
    port = listener.sockets[0].getsockname()[1]
    print("PORT %d" % port, flush=True)

    async with listener:
        await stop


if __name__ == "__main__":
    asyncio.run(main())
    sys.exit(0)
