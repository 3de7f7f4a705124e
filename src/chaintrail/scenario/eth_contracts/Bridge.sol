// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

interface IBridgeToken {
    function transfer(address to, uint256 value) external returns (bool);
    function transferFrom(address from, address to, uint256 value) external returns (bool);
}

/// A lock-and-mint bridge's home end (chain A): assets are locked here and released when burnt on chain B.
/// Every lock has a nonce; the relayer mints on chain B with that nonce, and releases here with the nonce of
/// a burn on chain B, each nonce at most once. token = address(0) is ETH.
contract BridgeSource {
    address public immutable relayer;
    uint256 public nextNonce;
    mapping(uint256 => bool) public released;  // chain B burn nonce -> done

    event Locked(uint256 indexed nonce, address indexed token, address indexed sender, address recipient,
                 uint256 amount, uint256 dstChainId);
    event Released(uint256 indexed srcNonce, address indexed token, address indexed recipient, uint256 amount);

    constructor(address relayer_) {
        relayer = relayer_;
    }

    function lockETH(address recipient, uint256 dstChainId) external payable returns (uint256 nonce) {
        require(msg.value > 0, "nothing to lock");
        nonce = nextNonce++;
        emit Locked(nonce, address(0), msg.sender, recipient, msg.value, dstChainId);
    }

    function lockToken(address token, uint256 amount, address recipient, uint256 dstChainId)
        external returns (uint256 nonce)
    {
        require(amount > 0 && token != address(0), "nothing to lock");
        require(IBridgeToken(token).transferFrom(msg.sender, address(this), amount), "transferFrom failed");
        nonce = nextNonce++;
        emit Locked(nonce, token, msg.sender, recipient, amount, dstChainId);
    }

    function release(uint256 srcNonce, address token, address payable recipient, uint256 amount) external {
        require(msg.sender == relayer, "not the relayer");
        require(!released[srcNonce], "nonce already released");
        released[srcNonce] = true;
        if (token == address(0)) {
            (bool ok, ) = recipient.call{value: amount}("");
            require(ok, "ETH release failed");
        } else {
            require(IBridgeToken(token).transfer(recipient, amount), "transfer failed");
        }
        emit Released(srcNonce, token, recipient, amount);
    }
}

/// The wrapped form of a chain A asset on chain B: an ERC-20 only its bridge mints and burns.
contract BridgedToken {
    string public name;
    string public symbol;
    uint8 public immutable decimals;
    address public immutable bridge;
    address public immutable origin;  // the asset on chain A (address(0): ETH)
    uint256 public totalSupply;
    mapping(address => uint256) public balanceOf;
    mapping(address => mapping(address => uint256)) public allowance;

    event Transfer(address indexed from, address indexed to, uint256 value);
    event Approval(address indexed owner, address indexed spender, uint256 value);

    constructor(string memory name_, string memory symbol_, uint8 decimals_, address origin_) {
        name = name_;
        symbol = symbol_;
        decimals = decimals_;
        origin = origin_;
        bridge = msg.sender;
    }

    function transfer(address to, uint256 value) external returns (bool) {
        _move(msg.sender, to, value);
        return true;
    }

    function approve(address spender, uint256 value) external returns (bool) {
        allowance[msg.sender][spender] = value;
        emit Approval(msg.sender, spender, value);
        return true;
    }

    function transferFrom(address from, address to, uint256 value) external returns (bool) {
        uint256 allowed = allowance[from][msg.sender];
        if (allowed != type(uint256).max) {
            require(allowed >= value, "allowance too low");
            allowance[from][msg.sender] = allowed - value;
        }
        _move(from, to, value);
        return true;
    }

    function mint(address to, uint256 value) external {
        require(msg.sender == bridge, "not the bridge");
        totalSupply += value;
        balanceOf[to] += value;
        emit Transfer(address(0), to, value);
    }

    function burnFrom(address from, uint256 value) external {
        require(msg.sender == bridge, "not the bridge");
        require(balanceOf[from] >= value, "balance too low");
        balanceOf[from] -= value;
        totalSupply -= value;
        emit Transfer(from, address(0), value);
    }

    function _move(address from, address to, uint256 value) internal {
        require(to != address(0), "transfer to zero");
        require(balanceOf[from] >= value, "balance too low");
        balanceOf[from] -= value;
        balanceOf[to] += value;
        emit Transfer(from, to, value);
    }
}

/// The bridge's far end (chain B): one BridgedToken per chain A asset; the relayer mints against chain A lock
/// nonces (each once); holders burn to get the asset back on chain A, each burn with its own nonce.
contract BridgeDestination {
    address public immutable relayer;
    address public immutable owner;
    uint256 public immutable srcChainId;
    uint256 public nextNonce;
    mapping(address => address) public wrapped;  // chain A asset -> BridgedToken here
    mapping(uint256 => bool) public minted;      // chain A lock nonce -> done

    event AssetAdded(address indexed srcToken, address wrappedToken);
    event Minted(uint256 indexed srcNonce, address indexed wrappedToken, address indexed recipient, uint256 amount);
    event Burned(uint256 indexed nonce, address indexed srcToken, address indexed sender, address recipient,
                 uint256 amount, uint256 dstChainId);

    constructor(address relayer_, uint256 srcChainId_) {
        relayer = relayer_;
        owner = msg.sender;
        srcChainId = srcChainId_;
    }

    function addAsset(address srcToken, string calldata name_, string calldata symbol_, uint8 decimals_)
        external returns (address token)
    {
        require(msg.sender == owner, "not the owner");
        require(wrapped[srcToken] == address(0), "asset already added");
        token = address(new BridgedToken(name_, symbol_, decimals_, srcToken));
        wrapped[srcToken] = token;
        emit AssetAdded(srcToken, token);
    }

    function mint(uint256 srcNonce, address srcToken, address recipient, uint256 amount) external {
        require(msg.sender == relayer, "not the relayer");
        require(!minted[srcNonce], "nonce already minted");
        address token = wrapped[srcToken];
        require(token != address(0), "unknown asset");
        minted[srcNonce] = true;
        BridgedToken(token).mint(recipient, amount);
        emit Minted(srcNonce, token, recipient, amount);
    }

    function burn(address srcToken, uint256 amount, address recipient) external returns (uint256 nonce) {
        address token = wrapped[srcToken];
        require(token != address(0), "unknown asset");
        require(amount > 0, "nothing to burn");
        BridgedToken(token).burnFrom(msg.sender, amount);
        nonce = nextNonce++;
        emit Burned(nonce, srcToken, msg.sender, recipient, amount, srcChainId);
    }
}
