//! Import extraction and resolution, per language, on real-looking source files.

use super::*;

fn index(paths: &[&str], facts: &[(&str, &str)]) -> TreeIndex {
    let mut index = TreeIndex::new(paths.iter().copied());
    for (path, source) in facts {
        if let Some(fact) = extract(path, source).fact {
            index.add_fact(path, fact);
        }
    }
    index
}

fn resolved(index: &TreeIndex, path: &str, source: &str) -> Vec<String> {
    index.resolve(path, &extract(path, source).refs)
}

const RUST_LIB: &str = r#"//! The crate. A `use crate::fake;` in a comment is not an import.
#![forbid(unsafe_code)]

pub mod config;
mod store;
#[cfg(test)]
mod tests;
pub(crate) mod util {
    pub fn helper() {}
}

pub use crate::config::{Settings, load as load_settings};
pub use store::Store;
use std::collections::HashMap;
use other_crate::Thing;
/* mod commented; */
"#;

const RUST_STORE: &str = r#"//! Storage.
use super::config::Settings;
use crate::{
    config,
    store::cache::{self, Cache},
};
use self::cache::Entry as CacheEntry;

pub struct Store { settings: Settings, lifetime: &'static str }
"#;

#[test]
fn rust_mod_declarations_use_paths_and_re_exports_resolve_through_the_module_tree() {
    let tree = index(
        &[
            "crates/app/src/lib.rs",
            "crates/app/src/config.rs",
            "crates/app/src/store/mod.rs",
            "crates/app/src/store/cache.rs",
            "crates/app/src/tests.rs",
            "crates/other-crate/src/lib.rs",
        ],
        &[],
    );
    assert_eq!(
        resolved(&tree, "crates/app/src/lib.rs", RUST_LIB),
        vec![
            "crates/app/src/config.rs",
            "crates/app/src/store/mod.rs",
            "crates/app/src/tests.rs",
            "crates/other-crate/src/lib.rs",
        ]
    );
    assert_eq!(
        resolved(&tree, "crates/app/src/store/mod.rs", RUST_STORE),
        vec!["crates/app/src/config.rs", "crates/app/src/store/cache.rs"]
    );
    let refs = extract("crates/app/src/lib.rs", RUST_LIB).refs;
    assert!(refs.contains(&ImportRef::RustUse(vec![
        "crate".to_owned(),
        "config".to_owned(),
        "load".to_owned()
    ])));
    assert!(!refs.contains(&ImportRef::RustMod("util".to_owned())));
    assert!(!refs.contains(&ImportRef::RustMod("commented".to_owned())));
}

const PYTHON_VIEWS: &str = r#""""Views."""
import os, json
import app.models as models
from app.services import billing, mailer as mail
from . import forms
from .utils import (
    slugify,  # used by the list view
    paginate,
)
from ..core.settings import DEBUG
from typing import Optional
"#;

#[test]
fn python_absolute_relative_and_aliased_imports_resolve_to_modules_and_packages() {
    let tree = index(
        &[
            "app/__init__.py",
            "app/models.py",
            "app/services/__init__.py",
            "app/services/billing.py",
            "app/web/views.py",
            "app/web/forms.py",
            "app/web/utils.py",
            "app/core/settings.py",
        ],
        &[],
    );
    assert_eq!(
        resolved(&tree, "app/web/views.py", PYTHON_VIEWS),
        vec![
            "app/models.py",
            "app/services/billing.py",
            "app/services/__init__.py",
            "app/web/forms.py",
            "app/web/utils.py",
            "app/core/settings.py",
        ]
    );
}

const TSCONFIG: &str = r#"{
  // Paths used by the app.
  "compilerOptions": {
    "baseUrl": ".",
    "paths": {
      "@/*": ["src/*"],
      "@config": ["config/index.ts"],
    },
  },
}"#;

const TS_PAGE: &str = r#"import React from 'react';
import { Button } from '@/components/Button';
import type { Settings } from "@config";
import './page.css';
export * from '../lib/api';
export { default as Header } from './Header';
const lazy = import('./Lazy');
const legacy = require("../lib/legacy");
// import { gone } from './gone';
const url = 'https://example.com/*not-a-comment*/';
"#;

#[test]
fn script_relative_imports_re_exports_and_tsconfig_paths_resolve_with_extensions() {
    let tree = index(
        &[
            "tsconfig.json",
            "src/components/Button.tsx",
            "src/pages/page.tsx",
            "src/pages/page.css",
            "src/pages/Header/index.ts",
            "src/pages/Lazy.jsx",
            "src/lib/api/index.ts",
            "src/lib/legacy.js",
            "src/pages/gone.ts",
            "config/index.ts",
        ],
        &[("tsconfig.json", TSCONFIG)],
    );
    assert_eq!(
        resolved(&tree, "src/pages/page.tsx", TS_PAGE),
        vec![
            "src/components/Button.tsx",
            "config/index.ts",
            "src/pages/page.css",
            "src/lib/api/index.ts",
            "src/pages/Header/index.ts",
            "src/pages/Lazy.jsx",
            "src/lib/legacy.js",
        ]
    );
}

const GO_MOD: &str = "module github.com/acme/shop\n\ngo 1.22\n";

const GO_MAIN: &str = r#"package main

import "fmt"

import (
    "net/http"

    "github.com/acme/shop/internal/cart"
    store "github.com/acme/shop/internal/store"
    _ "github.com/lib/pq"
)
"#;

#[test]
fn go_imports_resolve_through_the_module_path_to_the_package_files() {
    let tree = index(
        &[
            "go.mod",
            "cmd/shop/main.go",
            "internal/cart/cart.go",
            "internal/cart/cart_test.go",
            "internal/store/store.go",
            "internal/store/sql.go",
        ],
        &[("go.mod", GO_MOD)],
    );
    assert_eq!(
        resolved(&tree, "cmd/shop/main.go", GO_MAIN),
        vec!["internal/cart/cart.go", "internal/store/sql.go", "internal/store/store.go"]
    );
}

const JAVA_ORDER: &str = r#"package com.acme.shop.order;

import com.acme.shop.cart.Cart;
import com.acme.shop.cart.Cart.Line;
import static com.acme.shop.money.Money.of;
import com.acme.shop.util.*;
import java.util.List;

/** An order. import com.acme.fake.Fake; */
public class Order {}
"#;

#[test]
fn java_imports_resolve_through_declared_packages_with_wildcards_and_statics() {
    let cart = "package com.acme.shop.cart;\npublic class Cart {}\n";
    let money = "package com.acme.shop.money;\npublic class Money {}\n";
    let strings = "package com.acme.shop.util;\nclass Strings {}\n";
    let dates = "package com.acme.shop.util;\nclass Dates {}\n";
    let tree = index(
        &[
            "src/main/java/com/acme/shop/order/Order.java",
            "src/main/java/com/acme/shop/cart/Cart.java",
            "src/main/java/com/acme/shop/money/Money.java",
            "src/main/java/com/acme/shop/util/Strings.java",
            "src/main/java/com/acme/shop/util/Dates.java",
        ],
        &[
            ("src/main/java/com/acme/shop/cart/Cart.java", cart),
            ("src/main/java/com/acme/shop/money/Money.java", money),
            ("src/main/java/com/acme/shop/util/Strings.java", strings),
            ("src/main/java/com/acme/shop/util/Dates.java", dates),
        ],
    );
    assert_eq!(
        resolved(&tree, "src/main/java/com/acme/shop/order/Order.java", JAVA_ORDER),
        vec![
            "src/main/java/com/acme/shop/cart/Cart.java",
            "src/main/java/com/acme/shop/money/Money.java",
            "src/main/java/com/acme/shop/util/Dates.java",
            "src/main/java/com/acme/shop/util/Strings.java",
        ]
    );
}

#[test]
fn only_source_and_project_files_are_read() {
    assert!(wants_content("src/lib.rs"));
    assert!(wants_content("web/tsconfig.json"));
    assert!(wants_content("go.mod"));
    assert!(!wants_content("assets/logo.png"));
    assert!(!wants_content("README.md"));
}
