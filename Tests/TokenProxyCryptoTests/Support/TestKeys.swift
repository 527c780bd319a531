// THROWAWAY TEST KEYS. Generated with the openssl CLI for these tests only; they protect
// nothing and must never be used anywhere else.

/// Throwaway PEM test keys, one per supported format and a few that must be refused.
enum TestKeys {
    /// THROWAWAY TEST KEY: RSA 2048, PKCS#1 ("BEGIN RSA PRIVATE KEY").
    static let rsa2048PKCS1 = """
        -----BEGIN RSA PRIVATE KEY-----
        MIIEowIBAAKCAQEAqyo37G07rn+hN5+T+VODjcq1In5aaX2gch44DmEsIhWbOZRw
        oNy7jphCigYrisCSWF7Ti5znT0Z+pa+Jm2Wge81cCA/7iMmu45tGvzxOyviFN81H
        GE8uaV98EihuM0pWpMeG4CbzqNERRxIEowj7oSSXxVfw+PrsWeZcZjaCCHtsD71t
        ikq9ggy5R2zyTi7C0t49DJcIYCp5n7XMTV9oD0y9P80hgAxTzDa8HpgVDQOAVcvM
        LpO7igcjsNGDuN0d7oLcvBGTGHQJwXF5iqsY73sLREVHHz2n7PLgS/OIVGlLl3i6
        SfBQ0LHN+9MtvG0rzzEL/Kg8VuYOnmN8Y5RYpwIDAQABAoIBABLcUJQ7Rx/HzYZ5
        DY+kLbNSmloGLUVBhAv/G3MuLvREiDm0iyKWoA4q5e4alvKvnJCjRlE0hWJ9ZJgy
        OwoGDUSHEPSMek2M17oZ0pZg+VexQdCvzH03wGf5Dw1bKiV5tAltOQX7FM9N1kcM
        C7nBVCTiCN1EfveYgrG3SggzSmnPrah69rRk6+hfn4AGGrd+v1nrHGJ47t9z3fqg
        HDaaf5mZCcuB0ukPxaymgvNRkp82j4Mhdh84btVgk8HiG5LcI57zBq0NVOR43pwJ
        fXvgrpyTqP5qN5Yn6bNe06jLLIC4lz35tqTd4/xl7hON2m0nDFK6Dr8zFZdFerNT
        BGkE06kCgYEA1exd3VQHG6DACDJRQv1j5U50z3oR60waad4wHgd/UY5Se4BYIBsP
        aGCynmaVPUs3LaZswla35D868QwmCJIXa1L5rQtCDZ2cUan2QLDZiDfFKwSI925e
        4YAzJTKaWpmokCfmSqwFO0ghJyExw9H8UtJj1wkwQyF9yj6rPcFCHMkCgYEAzNTZ
        D4RR6God2XRXDfZ3xtLT8ZD7/+hGG2bEjneM835rl+OYA9OsVYYPshl6rr/S/0zy
        MuxGnRKheeYGsdVxbzbsp1ktv6jmdpoJ/rfRBCZ/tNIHbdzzsgyFD4AfeUbLJ9s7
        /Nh635GbkjkNpHFqm/yOw1xw8bLKVvTd2TYRMe8CgYEA0axh9+xDJz4w2hfPdDR9
        9CQo866234RxIzEGwnggv2QazjfmqFk9idW1XPI49qHBTHohgX2TsiCTee2pXZ8r
        WyMx2vz82fGQZK6M0a1FGXFoTJieUr6YOrf36U6m4YRYJislWi0u14MEE6FCcKdh
        hB/4gazc4/9wlolEODwyu5kCgYBX4YJ3i9fwlYbVA3tOPE7LeS0B2aik9S0PGJqA
        XX6WAcl702QnUCwCTZByY0glrZuDean4ezMYtSOevzhkGCWhB7mlWzeroXWvsQtU
        w9zjoPjtxab2VfQgkgqMyfW2/M6w/PjR1LdzMG/E3sGhqh+JaWR/ISw8Ju91O33r
        ca0S9QKBgA+kBBezPnCSFpjPRf91sU2AlzKAs/gwj7WM4cSSMVjAscNYE79dH11I
        RV3SW2ooh1TzweA6OoIeT6YtSAxXLD1SxwF1phr9EHgFYnDc1RQqAO8aQH26A/No
        YORSnPr0WOdpadRg/GXj8WkMs4RcndPzvcdqCsWq8MMZn7M//c3k
        -----END RSA PRIVATE KEY-----
        """

    /// THROWAWAY TEST KEY: RSA 3072, PKCS#8.
    static let rsa3072PKCS8 = """
        -----BEGIN PRIVATE KEY-----
        MIIG/QIBADANBgkqhkiG9w0BAQEFAASCBucwggbjAgEAAoIBgQDRvBj4IB6nPV+W
        s215Tc2iRzG3pdCgKbtD+dHO1HAumR3K1/p34rqn3Yy+3B0CMtsfhlO8a4HkLjxd
        IFfGY85mbhhpCO2lAXD+5FbPfHnql3gjRNYcqnZFqsjZdM+dyZBfs5/Hx182EWlJ
        8mqEPUqrQiNrZ4yTPDdR/q/5yvbnP3qunI1brt949s6gL03USjDpRWw9nqabfnR1
        u1ufzdOXKnANhYLJPjuA9koZQAeB0zUDrF8ejsvMb0cFF7qv9XsLtuwBN54Q/2GP
        eZJOCImPypG7po5dN+wyl2uG/YDPwyfPc2koouKe68oJw5LH+055SqJsiWkwcYsC
        kJc0lh1xqin42sL4vhvlcz4zbmdOWoSUpw02VEP84OgxgVPSrhhMPyFPzzyQi3HR
        oW8LEY2xA3nE68yHDOfd6egUpEDn3yyUtZFA73AR9EdzbnweVFFxEC3e6PVtVPte
        37PIzn1TxwrPB7Q2mGqHWvUScvn/FXGpWvnTt+vWbNL6KXjTNy8CAwEAAQKCAYAB
        8YrivCw+oeL2cSawdv2r9hSVbbB0Ayajh9YnzNnnA/IiCM8F5QglEpnluMoDrfvr
        7MbpLD+arFA6iekk7MwEfqCuwjqYfNgmK3uwXnCpvIzlUecF25bfxKgp5tWkTIAg
        85kq7JcV+S3EEwxldw1T0q9WNbfJKEfHegpHbI+hVli7THPp2F4L3AuMvPm9vpDd
        0Cu/NyDNJ7n2SdpZ8L+6xMqZ5ivesu1IJVkqb0GijXokdjlSYfPZKt4eTqiYCurP
        0D2B8Er0rn5x9K8F20rVxACgW+8NzYYQSa+sNHQGDFj+QX6ex3AHIM0IzUrSWodA
        BkbEYDiHRelSI6bsI7CtoBWLK4ooJfJMdnhHopfBWRgxsVLPvP8/v8323y9VR50G
        +ylb+g3p3PWzar7cTG3ZADX1Gdb1HUD4/oZ5ffLGSCo1fRDqtIxUS3jsGuaLieR9
        Z0wOft2XIoan8/2RmoY59c2j3GhcMug5bZEttdR+H0bKHUnyw58eRe4G+7T0UAEC
        gcEA8q17XbZowtdvoft/N3J7+b9X34FOqYz5a4nT1OHnYFFNM3ionbHNJ0xAERx+
        +WFuPqq5EnEJ/PD8hAUyDV0QSMiTvinZhCZGLWg/Xa77Bo9+nq3rE2zhpYDpehhO
        +Vt3GRmhxqj/hiKFuUpgTRQ4OZehbI6hGXOZzxFBrq3LY3HN6CvWqn4q2ckwzxaH
        GwetgP8Yg6ie5+EkJSpvjpH8FfI961WSd0ttSXxL4v7ZnRzjYPNVTfvRixZ5YWRK
        2KWvAoHBAN0/pWIoyQ4O39mzCDGdYsRHlBlqs4iJpf2zlYFzLqrQ+Z8uzL5YOKyk
        0nWegxhLoy9Z5XK22rj/krmW0uncQyXrr/t7DlDGKXM/PvlWswzJWMy4MA7AOTFb
        +UNQtBW8Gpubh/aORohRpY7qL0FLdTGRhqM54fjfdoffnlOtQZb7Yph2m3Qs6YTv
        RGtPNzXYgTEu0YWQ3rH551XFHq4smEbV/sWns6wuriUkYUd6PFWIOfnbOg2mfTKh
        OEumV5xmgQKBwGPx/N/wkx7DuW8d9Bvy44pNOrSLPclojQS0I/EGBNPPSBtNsywX
        ISXxKmWhtc2hSdU3XLdypKlu2qDIvv9v95fyO57S/4mEddyXlZlQyoO+L2jMugcr
        DZerCv1E66mY+Oj2fIEj8vDcYPSZ5CV6kVlu0IW0DDc+O/di5Qk6/Iv9P89B1swq
        4B0H1jlDzurb86Iv7XmzxZY8TDWeT4mJKCglt0in2oWVI/Ji5aIcUaV6U08HiHdw
        obFF1UG+G3E0cwKBwEkP3YN+yHY1/0Ia1xfbS2RZ5tRF4ieynPgct8BZ0w1hmS0x
        /TbWV1Db1Qw2XkBFqgvW+ehZ7fytmTxkTB4iOKJrJGA9kMqnxcRjHF6mfNY6H3Lr
        WCNm4vwjzTqnifCrf3XndIy9Cxm1LKD3QMelLXxC/F0mnjLbSH8yH0yuqDw9o5+J
        e2hv9GWLxeJR9H95kaA2P8aFwqSvS++M+sa1v0uVG18WNEUl3SgyzVUXTplINS0H
        cjJTyoBPsRF6SvBBAQKBwQCmcmWayYyi+J0DLIswqOIdz8Ie7f4ILRdJdbGTLuFF
        PdTpcRiP5AwJDNSTmj+71svmjsC8Z8ippopwPwJWgsOUvD52gLNb+BN1a6GvShEn
        l7xsk/eZ3CAVp7VVh3Tv49Ff1i55fIWOw370PVC3b7s+orEQwgDclUCGyG+Pp3Uy
        2xMnxSujXmtYjxvm+Dejlpry5TLyffA9eIOKIPeEdC385kEhbaeukHnQcqm+lx5d
        RQ5XnFimf80vCwKa45k54LY=
        -----END PRIVATE KEY-----
        """

    /// THROWAWAY TEST KEY: RSA 1024, PKCS#8: too small, must be refused.
    static let rsa1024PKCS8 = """
        -----BEGIN PRIVATE KEY-----
        MIICdgIBADANBgkqhkiG9w0BAQEFAASCAmAwggJcAgEAAoGBALJueGUYZtZc2p24
        QYn7CvCuWRfK+6QLSpawlimNXBEXhkrbzyBN6RRXUirjmvUGAlYte32luAZwugHN
        WfhrmcuJWsET2Yw3c3uexJx9AdUn7hh4uwDl1XZOu85WuX6AuV+NqyqbJJjSUp6f
        81bm4ONuTcH49OVVDesw6FOcNMjRAgMBAAECgYBIpbe5GX1NS9Lqokl031Rt995o
        VImuGbbNsaoB0v8oKlbQBbzIH1CFqqPWuIKvvjmXUr9TwfQyExV4hF5cSZr82JlF
        SwJ+9DlGnieHKy1yRRtA2/KtTpS6c01agzQ4CLFwdtZywBRljbS41K8OH0l/b/qP
        dPq37Yq6HQKzCSZbUQJBANyOPZp9L44KrZrZkd12X/g61/fCqLo0nm3oCeE2tbAJ
        sBe3xuVYdTf2OI0Gwu9C/y2g+gUI9esBUTu3MPLOOHUCQQDPGzmMdIK+V3DfFbt0
        kRhFgyDP/eMq6Iyo9mdrYc6hS93a8uxflU12DdsoHl+UfnHZBSERRLNwWxqUQTSC
        G+NtAkBUmuveu27mmgoGgLeHsMUXv9rg2/dFlrG/j2da0VXY9Z5rOsA9cjVlBjqj
        PpjAl36zzjCahdlwEM1MjvVj7t+RAkBW+6M293Q2BzmTqGf7tDjScRll4cb4LYVu
        LVcQRZroKZn7LE3Uczt+WqFx/xe7oUOllz7lJsqKZOkL3Tr1bksdAkEAvV6HIz96
        DHvx85H1kpS7CF5iIaa7FWcySsAv0+XV2JmcHy3ttXl1hZ8cGINkiKd3QoBjR17e
        GQBGURcoK0MQVA==
        -----END PRIVATE KEY-----
        """

    /// THROWAWAY TEST KEY: EC P-256, SEC1 ("BEGIN EC PRIVATE KEY").
    static let ecP256SEC1 = """
        -----BEGIN EC PRIVATE KEY-----
        MHcCAQEEIEUTp9HUts4jGZWTlkac/SJeUSWTILFl+rTqrKnst9n7oAoGCCqGSM49
        AwEHoUQDQgAEfw/pFFvFfscHkCVEIgdoin+EVI2bT8VsnjUmkJtDj1ycaJjoMrDm
        1i9moFQqTkQJpXlXqs8g62Db1BVbUm5tkw==
        -----END EC PRIVATE KEY-----
        """

    /// THROWAWAY TEST KEY: EC P-256, PKCS#8 (the same key as ecP256SEC1).
    static let ecP256PKCS8 = """
        -----BEGIN PRIVATE KEY-----
        MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgRROn0dS2ziMZlZOW
        Rpz9Il5RJZMgsWX6tOqsqey32fuhRANCAAR/D+kUW8V+xweQJUQiB2iKf4RUjZtP
        xWyeNSaQm0OPXJxomOgysObWL2agVCpORAmleVeqzyDrYNvUFVtSbm2T
        -----END PRIVATE KEY-----
        """

    /// THROWAWAY TEST KEY: EC P-384, SEC1.
    static let ecP384SEC1 = """
        -----BEGIN EC PRIVATE KEY-----
        MIGkAgEBBDAPk9XeI3oPoc6LmqebCaqlAsPckoOvwho0AfaKd3CxeTLdH+bFz8Iz
        JXuBF+dn1Q2gBwYFK4EEACKhZANiAAQgly2maCEb4HUjlf5lgTStIczwstYMbjgB
        P/F+y6LiAwE9iXvJmyzYzTQs0NcgTmu0AU1vwfTMoGHdtxAJa8lJZ1R2wqb63geQ
        xI7F3eaawRDrj1n8TMCTWXvjKhdcIY8=
        -----END EC PRIVATE KEY-----
        """

    /// THROWAWAY TEST KEY: EC P-384, PKCS#8 (the same key as ecP384SEC1).
    static let ecP384PKCS8 = """
        -----BEGIN PRIVATE KEY-----
        MIG2AgEAMBAGByqGSM49AgEGBSuBBAAiBIGeMIGbAgEBBDAPk9XeI3oPoc6Lmqeb
        CaqlAsPckoOvwho0AfaKd3CxeTLdH+bFz8IzJXuBF+dn1Q2hZANiAAQgly2maCEb
        4HUjlf5lgTStIczwstYMbjgBP/F+y6LiAwE9iXvJmyzYzTQs0NcgTmu0AU1vwfTM
        oGHdtxAJa8lJZ1R2wqb63geQxI7F3eaawRDrj1n8TMCTWXvjKhdcIY8=
        -----END PRIVATE KEY-----
        """

    /// THROWAWAY TEST KEY: EC P-521, SEC1.
    static let ecP521SEC1 = """
        -----BEGIN EC PRIVATE KEY-----
        MIHcAgEBBEIAWb2rFl9EvKXHASU2VBuhJpBJ5zfoHVo0JkcXmsRurkMnUW8sXaik
        xmrzro+SKOSRDkrfJ+LqaSBH/41jY6MOO9GgBwYFK4EEACOhgYkDgYYABABIhUEd
        jPAupnT17vACIr4AagIZmb6G/WfJKOL+2hrjvNcB5S/hB+kMZp09KTILcfZdvs7i
        99hBk6Wo1j3qjBzHXAGKCq6GFfsDypenZJbug1yWFNA7maD1qlEmC0L6z6+jzJmd
        39YMPgVv5oZLwPKWz78dPrjs9TuBfTo9wyLaFV1GKQ==
        -----END EC PRIVATE KEY-----
        """

    /// THROWAWAY TEST KEY: EC P-521, PKCS#8 (the same key as ecP521SEC1).
    static let ecP521PKCS8 = """
        -----BEGIN PRIVATE KEY-----
        MIHuAgEAMBAGByqGSM49AgEGBSuBBAAjBIHWMIHTAgEBBEIAWb2rFl9EvKXHASU2
        VBuhJpBJ5zfoHVo0JkcXmsRurkMnUW8sXaikxmrzro+SKOSRDkrfJ+LqaSBH/41j
        Y6MOO9GhgYkDgYYABABIhUEdjPAupnT17vACIr4AagIZmb6G/WfJKOL+2hrjvNcB
        5S/hB+kMZp09KTILcfZdvs7i99hBk6Wo1j3qjBzHXAGKCq6GFfsDypenZJbug1yW
        FNA7maD1qlEmC0L6z6+jzJmd39YMPgVv5oZLwPKWz78dPrjs9TuBfTo9wyLaFV1G
        KQ==
        -----END PRIVATE KEY-----
        """

    /// THROWAWAY TEST KEY: Ed25519, PKCS#8.
    static let ed25519PKCS8 = """
        -----BEGIN PRIVATE KEY-----
        MC4CAQAwBQYDK2VwBCIEIGtiu+07Jvjed12hIbcUbV1Ww3s/FKpK8o9oN3xBxHoK
        -----END PRIVATE KEY-----
        """

    /// THROWAWAY TEST KEY: EC secp256k1, PKCS#8: an unsupported curve.
    static let secp256k1PKCS8 = """
        -----BEGIN PRIVATE KEY-----
        MIGEAgEAMBAGByqGSM49AgEGBSuBBAAKBG0wawIBAQQg93nYbGUzAFpqTdG19d7a
        mOFsTgAMHr2igcMuvF5XiRmhRANCAAT62nzY2ATtc8r5eHOuz3R0euGg6Ljm2HMO
        fVj7m05PWmwDZmDkSujngQofa6T9IDLKtBZ2T+q9Fz75Xr2deXQM
        -----END PRIVATE KEY-----
        """

    /// THROWAWAY TEST KEY: Ed448, PKCS#8: an unsupported key type.
    static let ed448PKCS8 = """
        -----BEGIN PRIVATE KEY-----
        MEcCAQAwBQYDK2VxBDsEOc7C7EsmPXBRTbaq7l/W0M7Y0fAA6VxNqma+pow30oDc
        CI7TsgW7yc8OxCnRga0aJzJt8yjFK4jZyQ==
        -----END PRIVATE KEY-----
        """

    /// THROWAWAY TEST KEY: EC P-256 encrypted PKCS#8 (passphrase "throwaway").
    static let encryptedPKCS8 = """
        -----BEGIN ENCRYPTED PRIVATE KEY-----
        MIHsMFcGCSqGSIb3DQEFDTBKMCkGCSqGSIb3DQEFDDAcBAiVYfCWyPI8LQICCAAw
        DAYIKoZIhvcNAgkFADAdBglghkgBZQMEASoEEEJ9bPN4LR9Mz7ixS7gslegEgZAQ
        kp/otbv1Z5bM1uzhcQxRiCFOdWSSIears/qe9QHSMZr8f9oGamqhfUSOuT2fyf2p
        OmZKsMxb3QYlnXX8LiBnbO6YLkOx8WFHMvzhYQrG1a9hbAn3Fw6RiepCH+Fph21L
        uIkePQRgWPHuooMGCSyNfNoPPSrmXLLzV4WAWab5X5j7GpnBnxEy75kMUypnwZE=
        -----END ENCRYPTED PRIVATE KEY-----
        """

    /// THROWAWAY TEST KEY: RSA 2048 traditional encrypted PEM (passphrase "throwaway").
    static let encryptedPKCS1 = """
        -----BEGIN RSA PRIVATE KEY-----
        Proc-Type: 4,ENCRYPTED
        DEK-Info: AES-256-CBC,85676F6B563F3E8F7F636DBDD9E0F511

        ZjGTbt8rK7awdVQCGckDhKjtelJYH3f7xNpizx3ODdyyDQvYgZ0KsqSNp/pdw/7i
        YP3bu1pF4CVUU/jdPTh4QEqErme6JnGTZw6mj5MfGfoRNHZ0PPb+t66VO+K7toly
        ILVpsfRVRJkgwiXkeAu1ipgJpJ5WcMkUvbAUKnBHyxADNPtKbM6YPCHaIC0yp6qj
        dPYDQrA3AFTKDfiu5wBSWKIcgrPGYSrJf+qEI6sDSUaBeGXkrU7N4RDCvAM4tijI
        V4ks7OFSXLQ9Bb+jlAEwVcZBOgPhglQmkZkgtSqN502PZELVHJWc7WxVoE4VlAiY
        hZftD4VeNZzNZ8ivLTpIxhlJxEUVNOmByBm/OwO2lc/+OQdpZK7gInnLZPIJgdSj
        GwN80axuirTWZzDUBrTY7FRrcRWxRI+IBy/ydRZH0f7qXFAe3DVOwsYWDqQ+uSVD
        SGL5h+PGtvCBgk2kSuu0zPWpU20jVaFllHjFdLCU52lOxoDW05h60dK+fiLioBd6
        PLHkVRZiKGw4nNQ1v8PpbxqhKv8AXhee5esWaAQ0QrpaPxbLcxR60e+1sItEKyz5
        LBuFxvVRdSxkMFmhw1HqreSt8tWM3XS3fZCI9Q14P8mhPwFQa2Ctm/sBJQRa+uAK
        DLB+mK1sLWpSsVagS8m9wCpOTXDhLt2dfTMkwREOrw4kheNzoCVovQa4mS808R3m
        Ixn0ZF3Y7vaIfF+LqOaVkn2I65ePjBuGw9b+tVzxuZuRr9O+NAYjzKCagNJXqaCu
        oS478ykGzte2axL5/dnUnwWsoDIgFw/W9S+EgsqkdDezpvNhal3kOD/qFULxJawl
        RJPHmBtqe0KxL7rHAareUR/hW/E9UP0pkb754lJb/VGfh23CEwusLblp86nnxbCV
        38gcOsFnfHDyuLkcDT7vUEwUkXe5DnOLYy0y6OgrnhdeN0jAEw6t+eBORzkN1moV
        WRL5SG4rLf674ZI829Ox6tp7vg87Sxbi1veKQBsZ2kj/3FhtJ07NR/efVI+9udnU
        feiHvmRi6xb9cyGHv5kUUotYmPKELOLSEcwEbC0qeRyxJoQn5O4BVpj840Wn9+u/
        93t3OYpevKeHUkpPFeAx/JjVKw90NEiTLWwV15qQ8YEqFrUp7954anIOC5aqoYrf
        NCKYU71nULv1XiIGUeG+tD7hs/kPY5oOtWadkm9Xj7ZBMXXVwjo0XOdIZ+h9sc07
        pYyfnR552PzYJ10lIXvSfqI6Bcip8mVWxA2zaLa93vuf8zBd0sxw73/5uqXV6s7y
        GmFOgrtOBhArwMTj6UHnYqLmba/R/LvZx+Ig9WHeIQGpu8LlYZbfV2JLboWZSwxH
        nURR1WCmWUiZ0kqhf1bTkNwc/VP3+eR+g2z2ATriL0MO32V2KkHSzE9XW9m/W+eR
        k14cYvMhmRnQ/oOytssyoTfF2e8hepvo/V086DkoFlNJjdGP7WHiIfnezbxOpWjA
        d7Y0xBnmTs5b3MGtpooVLPIPdvYez9T8LstrAGYMguRzNi/2D+4AwAT7FwI8+QnH
        awJcAflO5x3++8kb+0DwNu3GY8Lzssww4N9Iwnb93XQCTGdCI5RxvNq8qbnAn7o+
        -----END RSA PRIVATE KEY-----
        """
}
