// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

/// Fans ETH out to several recipients, each leg an internal call made through try/catch: a leg whose
/// recipient refuses the ETH fails (its call frames revert) while the transaction as a whole succeeds,
/// and what failed is refunded to the sender by one more internal call.
contract Router {
    event Forwarded(address indexed to, uint256 amount);
    event Failed(address indexed to, uint256 amount);

    function fanOut(address payable[] calldata to, uint256[] calldata amounts) external payable {
        require(to.length == amounts.length, "length mismatch");
        uint256 total = 0;
        uint256 refund = 0;
        for (uint256 i = 0; i < to.length; i++) {
            total += amounts[i];
            try this.forward{value: amounts[i]}(to[i]) {
                emit Forwarded(to[i], amounts[i]);
            } catch {
                refund += amounts[i];
                emit Failed(to[i], amounts[i]);
            }
        }
        require(total == msg.value, "value mismatch");
        if (refund > 0) {
            (bool ok, ) = payable(msg.sender).call{value: refund}("");
            require(ok, "refund failed");
        }
    }

    /// One leg: callable only by the router itself, so that a refusal reverts this frame alone.
    function forward(address payable to) external payable {
        require(msg.sender == address(this), "internal only");
        (bool ok, ) = to.call{value: msg.value}("");
        require(ok, "recipient refused");
    }
}

/// A recipient that refuses every ETH payment.
contract RejectingSink {
    receive() external payable {
        revert("no ETH accepted");
    }
}
