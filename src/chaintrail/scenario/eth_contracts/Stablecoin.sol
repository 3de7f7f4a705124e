// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

/// A fiat-backed stablecoin in the style of USDT/USDC: 6 decimals, an issuer who mints and burns,
/// and a blacklist the issuer uses to freeze an address (neither sending nor receiving works).
/// Initialised by initialize() rather than a constructor so that it can also sit behind a proxy.
contract Stablecoin {
    string public name;
    string public symbol;
    address public issuer;
    uint256 public totalSupply;
    bool private initialized;
    mapping(address => uint256) public balanceOf;
    mapping(address => mapping(address => uint256)) public allowance;
    mapping(address => bool) public isBlackListed;

    event Transfer(address indexed from, address indexed to, uint256 value);
    event Approval(address indexed owner, address indexed spender, uint256 value);
    event AddedBlackList(address indexed user);
    event RemovedBlackList(address indexed user);
    event Issue(uint256 amount);
    event Redeem(uint256 amount);

    modifier onlyIssuer() {
        require(msg.sender == issuer, "not the issuer");
        _;
    }

    function initialize(string calldata name_, string calldata symbol_, address issuer_) external {
        require(!initialized, "already initialized");
        initialized = true;
        name = name_;
        symbol = symbol_;
        issuer = issuer_;
    }

    function decimals() external pure returns (uint8) {
        return 6;
    }

    function transfer(address to, uint256 value) external returns (bool) {
        _transfer(msg.sender, to, value);
        return true;
    }

    function approve(address spender, uint256 value) external returns (bool) {
        require(!isBlackListed[msg.sender], "blacklisted");
        allowance[msg.sender][spender] = value;
        emit Approval(msg.sender, spender, value);
        return true;
    }

    function transferFrom(address from, address to, uint256 value) external returns (bool) {
        require(!isBlackListed[msg.sender], "blacklisted");
        uint256 allowed = allowance[from][msg.sender];
        if (allowed != type(uint256).max) {
            require(allowed >= value, "allowance too low");
            allowance[from][msg.sender] = allowed - value;
        }
        _transfer(from, to, value);
        return true;
    }

    function mint(address to, uint256 amount) external onlyIssuer {
        totalSupply += amount;
        balanceOf[to] += amount;
        emit Issue(amount);
        emit Transfer(address(0), to, amount);
    }

    function burn(uint256 amount) external onlyIssuer {
        require(balanceOf[issuer] >= amount, "balance too low");
        balanceOf[issuer] -= amount;
        totalSupply -= amount;
        emit Redeem(amount);
        emit Transfer(issuer, address(0), amount);
    }

    function addBlackList(address user) external onlyIssuer {
        isBlackListed[user] = true;
        emit AddedBlackList(user);
    }

    function removeBlackList(address user) external onlyIssuer {
        isBlackListed[user] = false;
        emit RemovedBlackList(user);
    }

    function _transfer(address from, address to, uint256 value) internal {
        require(!isBlackListed[from] && !isBlackListed[to], "blacklisted");
        require(to != address(0), "transfer to zero");
        require(balanceOf[from] >= value, "balance too low");
        balanceOf[from] -= value;
        balanceOf[to] += value;
        emit Transfer(from, to, value);
    }
}
