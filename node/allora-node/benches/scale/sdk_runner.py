"""allora-sdk-py's own worker runner on N topics, for the scale bench's side-by-side.

One `AlloraWorker.inferer` per topic, all on one wallet sharing one asyncio.Lock (as the SDK
documents for several workers on one wallet), in one process and event loop, each returning a
constant inference. Started by `cargo bench -p allora-node --bench scale -- --sdk 5,50`; the
bench measures this process's RSS/CPU and reads what landed from the devnet.

Env: SDK_CHAIN_ID, SDK_GRPC_URL (grpc+http://host:port), SDK_WS_URL, SDK_MNEMONIC, SDK_TOPICS (N),
SDK_POLL_SECONDS.
"""

import asyncio
import os

from allora_sdk.rpc_client.config import AlloraNetworkConfig, AlloraWalletConfig
from allora_sdk.worker import AlloraWorker


def constant_inference(*_args, **_kwargs):
    return "3000.5"


async def drive(worker):
    async for _result in worker.run():
        pass


async def main():
    network = AlloraNetworkConfig(
        chain_id=os.environ["SDK_CHAIN_ID"],
        url=os.environ["SDK_GRPC_URL"],
        websocket_url=os.environ["SDK_WS_URL"],
        faucet_url=None,
        fee_minimum_gas_price=10.0,
    )
    lock = asyncio.Lock()
    workers = [
        AlloraWorker.inferer(
            run=constant_inference,
            wallet=AlloraWalletConfig(mnemonic=os.environ["SDK_MNEMONIC"]),
            network=network,
            topic_id=t,
            polling_interval=int(os.environ.get("SDK_POLL_SECONDS", "120")),
            lock=lock,
            show_banner=False,
        )
        for t in range(1, int(os.environ["SDK_TOPICS"]) + 1)
    ]
    await asyncio.gather(*(drive(w) for w in workers))


if __name__ == "__main__":
    asyncio.run(main())
