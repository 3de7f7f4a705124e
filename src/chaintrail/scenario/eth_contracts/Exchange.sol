// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

interface IExchangeToken {
    function balanceOf(address who) external view returns (uint256);
    function transfer(address to, uint256 value) external returns (bool);
    function transferFrom(address from, address to, uint256 value) external returns (bool);
}

/// A customer deposit address of an exchange, in the style of BitGo's Forwarder: ETH sent to it goes straight
/// on to the exchange's hot wallet (the parent) in the same transaction; tokens wait until the parent calls
/// flushTokens. Made by ForwarderFactory with CREATE2, so the address is known before it exists; ETH sent
/// there before creation is forwarded by the constructor.
contract DepositForwarder {
    address payable public immutable parent;

    event ForwarderDeposited(address from, uint256 value);
    event TokensFlushed(address token, uint256 value);

    constructor(address payable parent_) {
        parent = parent_;
        uint256 early = address(this).balance;
        if (early > 0) {
            (bool ok, ) = parent_.call{value: early}("");
            require(ok, "forward failed");
        }
    }

    receive() external payable {
        (bool ok, ) = parent.call{value: msg.value}("");
        require(ok, "forward failed");
        emit ForwarderDeposited(msg.sender, msg.value);
    }

    function flushTokens(address token) external {
        require(msg.sender == parent, "not the parent");
        uint256 value = IExchangeToken(token).balanceOf(address(this));
        if (value > 0) {
            require(IExchangeToken(token).transfer(parent, value), "flush failed");
            emit TokensFlushed(token, value);
        }
    }
}

/// Makes DepositForwarders at CREATE2 addresses fixed by (parent, salt).
contract ForwarderFactory {
    event ForwarderCreated(address indexed forwarder, address indexed parent, bytes32 salt);

    function createForwarder(address payable parent, bytes32 salt) external returns (address forwarder) {
        forwarder = address(new DepositForwarder{salt: salt}(parent));
        emit ForwarderCreated(forwarder, parent, salt);
    }

    function forwarderAddress(address payable parent, bytes32 salt) external view returns (address) {
        bytes32 code = keccak256(abi.encodePacked(type(DepositForwarder).creationCode, abi.encode(parent)));
        return address(uint160(uint256(keccak256(abi.encodePacked(bytes1(0xff), address(this), salt, code)))));
    }
}

/// An OTC desk's escrow: the desk keeps ETH and a stablecoin here and quotes one price (stablecoin units per
/// ETH); a customer swaps stablecoin for ETH or ETH for stablecoin against that inventory in one transaction.
contract OtcDesk {
    address public immutable owner;
    address public immutable stable;
    uint256 public price;  // stablecoin base units per 1 ETH

    event PriceSet(uint256 price);
    event Trade(address indexed customer, address tokenIn, uint256 amountIn, address tokenOut, uint256 amountOut);

    constructor(address stable_, uint256 price_) {
        owner = msg.sender;
        stable = stable_;
        price = price_;
        emit PriceSet(price_);
    }

    receive() external payable {}  // the desk's ETH inventory

    function setPrice(uint256 price_) external {
        require(msg.sender == owner, "not the owner");
        price = price_;
        emit PriceSet(price_);
    }

    function sellStable(uint256 amountIn, uint256 minEthOut) external returns (uint256 ethOut) {
        ethOut = amountIn * 1e18 / price;
        require(ethOut >= minEthOut && ethOut > 0, "price moved");
        require(IExchangeToken(stable).transferFrom(msg.sender, address(this), amountIn), "transferFrom failed");
        (bool ok, ) = payable(msg.sender).call{value: ethOut}("");
        require(ok, "ETH payout failed");
        emit Trade(msg.sender, stable, amountIn, address(0), ethOut);
    }

    function buyStable(uint256 minStableOut) external payable returns (uint256 stableOut) {
        stableOut = msg.value * price / 1e18;
        require(stableOut >= minStableOut && stableOut > 0, "price moved");
        require(IExchangeToken(stable).transfer(msg.sender, stableOut), "transfer failed");
        emit Trade(msg.sender, address(0), msg.value, stable, stableOut);
    }

    function withdraw(address token, uint256 amount) external {
        require(msg.sender == owner, "not the owner");
        if (token == address(0)) {
            (bool ok, ) = payable(owner).call{value: amount}("");
            require(ok, "ETH withdraw failed");
        } else {
            require(IExchangeToken(token).transfer(owner, amount), "transfer failed");
        }
    }
}
