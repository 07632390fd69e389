"""Where OKX's documents leave a swap behaviour open, the simulator takes the harsher reading; these
switches turn each one to the milder reading (admin `POST /__sim__/swap-rules`, or in-process)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal


@dataclass
class SwapRules:
    # mgnRatio's denominator adds the taker fee of closing the position to its maintenance margin
    # (reference §2.7, a third-party copy of OKX's help; UNCONFIRMED): liquidation comes earlier.
    liquidation_fee_in_ratio: bool = True
    # Limit prices of swaps within mark x (1 +- band) (docs example: +-2 %); market orders stop there.
    price_band: Decimal = Decimal("0.02")
    # set-leverage refused (59000) by any pending order of the instrument, not only those of the
    # margin mode being changed.
    leverage_blocked_by_any_order: bool = True
    # set-position-mode refused (59000) by any pending order, spot included ("close any open
    # positions or orders"), not only swap orders.
    position_mode_blocked_by_spot_orders: bool = True

    def wire(self) -> dict[str, object]:
        return {
            "liquidationFeeInRatio": self.liquidation_fee_in_ratio,
            "priceBand": format(self.price_band, "f"),
            "leverageBlockedByAnyOrder": self.leverage_blocked_by_any_order,
            "positionModeBlockedBySpotOrders": self.position_mode_blocked_by_spot_orders,
        }
